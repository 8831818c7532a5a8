//! What the checker concludes from one history: saved as `analysis.json`, read back by the
//! report renderers. Counts only, no expectations: those come from the scenario.
//!
//! A message is a (producer, seq) pair; a record is a (partition, offset) pair in the log.

use crate::history::SendOutcome;
use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning.
pub const ANALYSIS_FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub format: u32,
    pub counts: Counts,
    /// What a verdict may rest on: the fault steps as they ran, the final read, the drain, the
    /// producers' ledgers.
    pub evidence: super::Evidence,
    pub input: InputStats,
    /// Acknowledgement latency of acked sends, where the history has it.
    pub latency_ms: Option<Latency>,
    /// Every fault window, in the order the faults started.
    pub faults: Vec<FaultWindow>,
    pub lost: LostDetail,
    pub samples: Samples,
    pub timeline: Timeline,
    /// Oddities that are not errors but make counts less trustworthy.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// How long writes were not acknowledged; None without acks with a partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
    /// The producers' transactions; None when they were not transactional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Transactions>,
}

/// What became of the producers' transactions (see checker/transactions.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transactions {
    pub summary: super::TxnSummary,
    /// Torn transactions and aborted ones that were read, the first few.
    pub samples: Vec<super::TxnSample>,
}

/// How long the cluster accepted no write (see checker/availability.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// The longest time any partition went without an acked write while producers were sending
    /// (between the run's first and last ack).
    pub longest_gap_ms: f64,
    pub gap_partition: Option<i32>,
    /// When that gap began.
    pub gap_from_ms: f64,
    /// Per fault, in the order they started.
    pub recovery: Vec<FaultRecovery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecovery {
    pub action: crate::model::FaultActionKind,
    pub target: String,
    pub step: Option<u32>,
    pub start_ms: Option<f64>,
    /// The longest time a partition went without an acked write, among the silences that began
    /// while this fault was in force (from its start to its heal), and which partition.
    pub longest_silence_ms: f64,
    pub silent_partition: Option<i32>,
}

pub use crate::model::Counts;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStats {
    pub lines: u64,
    pub bytes: u64,
    /// Lines of types the checker does not use.
    pub other_lines: u64,
    pub log_records: u64,
    pub processed_events: u64,
    pub producers: u64,
    pub partitions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// A fault from its start event to its end event. An end with no start has no `start_ms`; a
/// start with no end lasted to the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    pub action: crate::model::FaultActionKind,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// The schedule step (0-based) the fault came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
}

/// Where a time falls relative to the faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Inside a fault window (the one that started last, if several overlap).
    During,
    /// After a fault ended (the one that ended last), with no fault active.
    After,
    BeforeAnyFault,
}

/// The fault window a message was acked in, ready to print as a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultContext {
    pub relation: Relation,
    /// Index into `Analysis::faults`.
    pub fault: Option<usize>,
    pub action: Option<crate::model::FaultActionKind>,
    pub target: Option<String>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
    /// e.g. "during kill broker-2 (20.0 s to 35.0 s)", "after kill broker-2 ended at 35.0 s".
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LostDetail {
    /// Every lost message, counted by the fault window it was acked in.
    pub by_fault: Vec<LostInWindow>,
    /// `[second, lost messages acked in that second]`, seconds with none left out.
    pub per_second: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostInWindow {
    #[serde(flatten)]
    pub context: FaultContext,
    pub count: u64,
    pub first_acked_ms: f64,
    pub last_acked_ms: f64,
}

/// The first few of each anomaly, in (producer, seq) order, or (partition, offset) order for
/// anomalies of records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub lost: Vec<Sample>,
    pub duplicated: Vec<Sample>,
    pub reordered: Vec<Sample>,
    pub unexpected: Vec<Sample>,
    pub recovered: Vec<Sample>,
    pub unconsumed: Vec<Sample>,
    pub redelivered: Vec<Sample>,
    pub processed_twice: Vec<Sample>,
}

/// One message or record showing an anomaly. Fields that do not apply are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Unknown only for a redelivered record that is not in the final log.
    pub producer: Option<u32>,
    pub seq: Option<u64>,
    /// The record: as acked for a lost message, else in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// None: never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<SendOutcome>,
    /// When the producer got the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_ms: Option<f64>,
    /// Every record of a duplicated message in the log (first few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordRef>,
    /// For a lost message: the fault window it was acked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordRef {
    pub partition: i32,
    pub offset: i64,
}

/// Per-second series over the run, for charts and `timeline.csv`. Index i is the second
/// [i, i+1) since the start of the run; every series has the same length.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub acked: Vec<u64>,
    pub processed: Vec<u64>,
    pub failed: Vec<u64>,
    pub unknown: Vec<u64>,
    /// Lost messages by the second they were acked in.
    pub lost: Vec<u64>,
}

impl Timeline {
    pub fn seconds(&self) -> usize {
        self.acked.len()
    }
}
