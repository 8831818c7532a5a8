//! Where an analysis lives in a result directory: `analysis.json` (read back by the renderers)
//! and `timeline.csv`. Each is written to a temporary file in the same directory and renamed,
//! so a crash never leaves half a file behind.

use super::analysis::Analysis;
use crate::error::Result;
use crate::store::{read_json, write_json, write_with, ANALYSIS_FILE, TIMELINE_FILE};
use std::path::Path;

/// Writes `DIR/analysis.json` and `DIR/timeline.csv`.
pub fn write_analysis(dir: &Path, analysis: &Analysis) -> Result<()> {
    write_json(&dir.join(ANALYSIS_FILE), analysis)?;
    write_timeline_csv(dir, analysis)
}

/// Writes `DIR/timeline.csv`, one row per second: second, acked, processed, failed, unknown,
/// lost_acked_here. (`write_analysis` writes it too.)
pub fn write_timeline_csv(dir: &Path, analysis: &Analysis) -> Result<()> {
    write_with(&dir.join(TIMELINE_FILE), |out| {
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
    let hint = format!("run `kafka-chaos analyze {}` to check its history again", dir.display());
    read_json(&dir.join(ANALYSIS_FILE), "an analysis", &hint)
}
