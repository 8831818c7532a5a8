//! The result of a whole run, one entry per cell: `summary.json` (and `summary.csv`). Written by
//! `run` as each cell finishes, so an interrupted run leaves a readable partial summary; read by
//! `report` and `compare`.

use crate::checker::Counts;
use crate::error::{Error, Result};
use crate::plan::ExpectationResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const SUMMARY_FILE: &str = "summary.json";
pub const PLAN_FILE: &str = "plan.json";
pub const CELLS_DIR: &str = "cells";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation on the cell held (or it had none) and the history was consistent.
    Pass,
    /// An expectation was violated.
    Fail,
    /// The cell could not be judged: its run or its check failed, or a rule it has could not be
    /// judged (see `ExpectationResult::judged`).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    /// RFC 3339 time the run started.
    #[serde(default)]
    pub started: String,
    /// Seconds from start to the last cell written.
    #[serde(default)]
    pub wall_time_s: f64,
    /// False while the run goes on, and for a run that was interrupted.
    #[serde(default)]
    pub complete: bool,
    /// The Kafka image the brokers ran.
    #[serde(default)]
    pub image: String,
    pub cells: Vec<CellSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// Also the directory `cells/<id>/`.
    pub id: String,
    /// The cell's value of every matrix key.
    pub config: BTreeMap<String, String>,
    /// None when the cell has no analysis (its run failed).
    pub counts: Option<Counts>,
    pub expectations: Vec<ExpectationResult>,
    pub verdict: Verdict,
    /// What the run noticed: a drain that timed out, a fault that could not be applied, an error.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub duration_s: f64,
}

impl CellSummary {
    pub fn verdict_of(counts: Option<&Counts>, consistent: bool, expectations: &[ExpectationResult]) -> Verdict {
        match counts {
            None => Verdict::Unknown,
            Some(_) if expectations.iter().any(|e| e.violated()) => Verdict::Fail,
            Some(_) if !consistent || expectations.iter().any(|e| !e.judged) => Verdict::Unknown,
            Some(_) => Verdict::Pass,
        }
    }
}

impl Summary {
    pub fn failed(&self) -> usize {
        self.cells.iter().filter(|c| c.verdict == Verdict::Fail).count()
    }

    /// Write atomically (temporary file, then rename): a reader never sees half a summary.
    pub fn save(&self, dir: &Path) -> Result<()> {
        write_json_atomically(&dir.join(SUMMARY_FILE), self)
    }

    pub fn load(dir: &Path) -> Result<Summary> {
        let path = dir.join(SUMMARY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Invalid(format!("cannot read {}: {e}; is {} a result directory of `kafka-chaos run`?", path.display(), dir.display()))
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("{}: not a summary: {e}", path.display())))
    }
}

pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).expect("summaries serialize");
    std::fs::write(&tmp, text).map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// The names of the counts, in the order reports show them.
pub const COUNT_NAMES: [&str; 13] = [
    "sent", "acked", "failed", "unknown", "in_log", "lost", "duplicated", "reordered", "unexpected",
    "recovered", "unconsumed", "redelivered", "processed_twice",
];

pub fn counts_map(counts: &Counts) -> BTreeMap<String, u64> {
    let value = serde_json::to_value(counts).expect("counts serialize");
    value
        .as_object()
        .map(|o| o.iter().filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n))).collect())
        .unwrap_or_default()
}
