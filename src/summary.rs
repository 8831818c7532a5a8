//! The result of a whole run, one entry per cell: `summary.json` (and `summary.csv`). Written by
//! `run` as each cell finishes, so an interrupted run leaves a readable partial summary; read by
//! `report` and `compare`.

use crate::checker::Counts;
use crate::error::Result;
use crate::plan::ExpectationResult;
use crate::scenario::Count;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::store::{CELLS_DIR, PLAN_FILE, SUMMARY_FILE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation on the cell was judged and held (or it had none), on full evidence.
    Pass,
    /// A judged expectation was violated.
    Fail,
    /// The cell could not be judged: its run failed, the evidence a verdict needs is missing
    /// (see `judge`), or a rule it has could not be judged.
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
    /// Counts no verdict may rest on (shown as `?`).
    #[serde(default)]
    pub unjudged: Vec<Count>,
    /// Why counts went unjudged, what ran that the plan did not intend, errors of the run.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub duration_s: f64,
}

impl CellSummary {
    /// Whether this count of the cell may be shown as judged (it is not `?`).
    pub fn judged(&self, count: Count) -> bool {
        self.counts.is_some() && !self.unjudged.contains(&count)
    }
}

impl Summary {
    pub fn failed(&self) -> usize {
        self.cells.iter().filter(|c| c.verdict == Verdict::Fail).count()
    }

    pub fn unknown(&self) -> usize {
        self.cells.iter().filter(|c| c.verdict == Verdict::Unknown).count()
    }

    /// Written atomically: a reader never sees half a summary.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::store::write_json(&dir.join(SUMMARY_FILE), self)
    }

    pub fn load(dir: &Path) -> Result<Summary> {
        let hint = format!("is {} a result directory of `kafka-chaos run`?", dir.display());
        crate::store::read_json(&dir.join(SUMMARY_FILE), "a summary", &hint)
    }
}

