//! Where results go, and the one way they are written: to a temporary file in the same
//! directory, synced, then renamed over the target. A reader (or a run interrupted at any point)
//! sees the old file or the new one, never half of one.
//!
//! The names of the files in a result directory live here too, so every command agrees on them.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The plan of a run (`plan::Plan`), written before anything starts.
pub const PLAN_FILE: &str = "plan.json";
/// The verdicts of a run (`summary::Summary`), rewritten after every cell.
pub const SUMMARY_FILE: &str = "summary.json";
/// The scenario as it was when the run started.
pub const SCENARIO_COPY: &str = "scenario.toml";
/// One directory per cell, named by the cell's id.
pub const CELLS_DIR: &str = "cells";
/// In a cell directory: what happened (`history::Event`, one per line).
pub const HISTORY_FILE: &str = "history.jsonl";
/// In a cell directory: what the checker concluded (`checker::Analysis`).
pub const ANALYSIS_FILE: &str = "analysis.json";
/// In a cell directory: per-second counts, for spreadsheets.
pub const TIMELINE_FILE: &str = "timeline.csv";

/// The directory of a cell in a result directory.
pub fn cell_dir(result_dir: &Path, cell_id: &str) -> PathBuf {
    result_dir.join(CELLS_DIR).join(cell_id)
}

/// True when `dir` looks like a result directory of `kafka-chaos run` (it has a plan).
pub fn is_result_dir(dir: &Path) -> bool {
    dir.join(PLAN_FILE).is_file()
}

/// Write `path` atomically with whatever `write` puts in the buffer.
pub fn write_with(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
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

/// Write `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |out| out.write_all(bytes))
}

/// Write `value` as pretty JSON (and a final newline) to `path` atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_with(path, |out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    })
}

/// Read a JSON file written by `write_json`; `what` names it in errors ("a summary").
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str, hint: &str) -> Result<T> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Invalid(format!("cannot find {what} at {}; {hint}", path.display())))
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    serde_json::from_slice(&text)
        .map_err(|e| Error::Invalid(format!("{}: not {what} this version can read ({e}); {hint}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_json(&path, &vec![1, 2, 3]).unwrap();
        write_json(&path, &vec![4]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path, "a list", "").unwrap(), vec![4]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["x.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        write_bytes(&path, b"old").unwrap();
        let failed = write_with(&path, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_and_unreadable_files_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_json::<Vec<u32>>(&dir.path().join("nope.json"), "a summary", "run it first").unwrap_err();
        assert!(err.to_string().starts_with("cannot find a summary at ") && err.to_string().ends_with("; run it first"), "{err}");
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        let err = read_json::<Vec<u32>>(&dir.path().join("bad.json"), "a summary", "run it again").unwrap_err();
        assert!(err.to_string().contains("not a summary this version can read"), "{err}");
    }
}
