//! Where an analysis lives in a result directory: `analysis.json` (read back by the renderers)
//! and `timeline.csv`. Each is written to a temporary file in the same directory and renamed,
//! so a crash never leaves half a file behind.

use super::analysis::Analysis;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const HISTORY_FILE: &str = "history.jsonl";
pub const ANALYSIS_FILE: &str = "analysis.json";
pub const TIMELINE_FILE: &str = "timeline.csv";

/// Writes `DIR/analysis.json` and `DIR/timeline.csv`.
pub fn write_analysis(dir: &Path, analysis: &Analysis) -> Result<()> {
    write_atomically(&dir.join(ANALYSIS_FILE), |out| {
        serde_json::to_writer_pretty(&mut *out, analysis).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    })?;
    write_timeline_csv(dir, analysis)
}

/// Writes `DIR/timeline.csv`, one row per second: second, acked, processed, failed, unknown,
/// lost_acked_here. (`write_analysis` writes it too.)
pub fn write_timeline_csv(dir: &Path, analysis: &Analysis) -> Result<()> {
    write_atomically(&dir.join(TIMELINE_FILE), |out| {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(["second", "acked", "processed", "failed", "unknown", "lost_acked_here"])?;
        let t = &analysis.timeline;
        for s in 0..t.seconds() {
            let at = |v: &Vec<u64>| v.get(s).copied().unwrap_or(0);
            csv.serialize((s, at(&t.acked), at(&t.processed), at(&t.failed), at(&t.unknown), at(&t.lost)))?;
        }
        csv.flush()
    })
}

/// Reads `DIR/analysis.json`.
pub fn read_analysis(dir: &Path) -> Result<Analysis> {
    let path = dir.join(ANALYSIS_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Invalid(format!(
                "no analysis at {}: run `kafka-chaos analyze {}` first",
                path.display(),
                dir.display()
            )))
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    serde_json::from_slice(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}: not an analysis this version can read ({e}); run `kafka-chaos analyze {}` again",
            path.display(),
            dir.display()
        ))
    })
}

fn write_atomically(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary: PathBuf = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut out = BufWriter::new(File::create(&temporary)?);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(format!("cannot write {}", path.display()), e)
    })
}
