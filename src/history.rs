//! The history of one cell: one event per line in `history.jsonl`, written by one writer (the
//! runner), which stamps `time_ms` (milliseconds since the producers started) and keeps the order.
//!
//! These types are the one definition of the file: the runner writes them, and the checker's
//! reader (`history_reader`) reads them back into the same structs, by a fast path for the
//! millions of `send`, `processed` and `log` lines and by serde for the rest.
//!
//! A history is self-contained: it opens with a `cell` event (the cell's shape and its planned
//! fault steps) and carries the evidence a verdict needs: what each fault step did (`step`,
//! `fault`), whether the final read reached every partition's end (`read`), whether the consumers
//! caught up (`drain`), and whether the run ended early (`abort`).

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// What the producing application was told about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendOutcome {
    /// A successful delivery report.
    Acked,
    /// Definitely not written: the client refused it, or the broker rejected it before appending.
    Failed,
    /// May have been written: a timeout, a lost connection, a purge, no report by the end.
    Unknown,
}

/// librdkafka's view of whether a message reached the log (`rd_kafka_msg_status_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersistStatus {
    NotPersisted,
    PossiblyPersisted,
    Persisted,
}

/// What became of one victim of a fault step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPhase {
    /// The fault was applied and its effect observed; `time_ms` is when it was applied.
    Start,
    /// The heal was done and observed; `time_ms` is when it was done.
    End,
    /// The fault could not be applied (or its effect was not observed): no window.
    Failed,
    /// The heal could not be done or was not observed: the window never closed.
    HealFailed,
}

/// Whether a fault step fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Its time came and its condition held; `fault` events follow, one per victim.
    Fired,
    /// It never fired: its condition did not hold in time, an earlier step failed, or the run
    /// ended first.
    NotFired,
}

/// The one final outcome of one message, as the producer reported it to the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendEvent {
    pub time_ms: f64,
    pub producer: u32,
    pub seq: u64,
    pub outcome: SendOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PersistStatus>,
    /// Milliseconds from the send call to the delivery report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// The client's error and why it was classified so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a producer's transaction ended, as the application was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnOutcome {
    /// The commit returned success: every message of it must be visible to read_committed.
    Committed,
    /// The abort returned success: none of it may be visible to read_committed.
    Aborted,
    /// The commit failed or timed out, the producer was fenced or killed in the transaction:
    /// it may have committed. The log must hold all of it or none.
    Unknown,
}

/// One transaction of one producer: the seqs `first_seq..=last_seq` (a producer has one
/// transaction open at a time, so its seqs are consecutive) and how it ended. The `send` events
/// of its messages carry the outcome it gave them: committed → acked, aborted → failed, unknown →
/// unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnEvent {
    /// When the commit or abort returned, or the producer died with the transaction open.
    pub time_ms: f64,
    pub producer: u32,
    pub first_seq: u64,
    pub last_seq: u64,
    pub outcome: TxnOutcome,
    /// How long the transaction was open, from its begin to `time_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_ms: Option<f64>,
    /// The client's error, and why the worker classified the ending so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl TxnEvent {
    pub fn messages(&self) -> u64 {
        self.last_seq.saturating_sub(self.first_seq) + 1
    }
}

/// A consumer finished processing a record (and only then told the runner).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProcessedEvent {
    pub time_ms: f64,
    pub consumer: u32,
    pub producer: u32,
    pub seq: u64,
    pub partition: i32,
    pub offset: i64,
}

/// A record the final reader found in the log (the ground truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    pub producer: u32,
    pub seq: u64,
    pub partition: i32,
    pub offset: i64,
}

/// What happened to one victim of a fault step. `target` is the name as resolved when the step
/// fired (`broker-2`), `spec` the target as written (`leader:0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    pub time_ms: f64,
    pub action: crate::model::FaultActionKind,
    pub target: String,
    pub phase: FaultPhase,
    /// The step of the cell's schedule (0-based), when the fault came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// For a start: how long after `time_ms` the effect was observed. For an end: how long the
    /// heal took, up to `time_ms` (a restart counts until the broker is back in the ISR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For the start of a power cut: the bytes the broker had not fsynced, which were discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded_bytes: Option<u64>,
}

impl FaultEvent {
    /// The bytes a power cut discarded. Histories written before the field existed said it only
    /// in the detail (`power cut: 4096 unsynced bytes discarded ...`), which is read for them.
    pub fn discarded(&self) -> Option<u64> {
        self.discarded_bytes.or_else(|| {
            let (before, _) = self.detail.as_deref()?.split_once(" unsynced bytes discarded")?;
            before.rsplit(' ').next()?.parse().ok()
        })
    }
}

/// A fault step fired, or never did, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvent {
    pub time_ms: f64,
    pub step: u32,
    pub action: crate::model::FaultActionKind,
    /// The target as written.
    pub target: String,
    pub state: StepState,
    /// `at 10.0 s`, `acked 1000 on partition 0 since step 0 (1003 after 2.4 s)`, or why not.
    pub why: String,
}

/// A consumer committed offsets (or tried to). `committing` lines come before an explicit
/// commit is sent, so the harness knows offsets that may be committed before it hears back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitEvent {
    pub time_ms: f64,
    pub consumer: u32,
    pub partition: i32,
    pub offset: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub committing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A consumer got or lost partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebalanceEvent {
    pub time_ms: f64,
    pub consumer: u32,
    pub kind: String,
    pub partitions: Vec<i32>,
}

/// A partition's leader changed, as observed by the runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderChangeEvent {
    pub time_ms: f64,
    pub partition: i32,
    pub leader: Option<i32>,
}

/// A worker process started, stopped, was killed, paused or resumed, or was lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerEvent {
    pub time_ms: f64,
    pub role: String,
    pub id: u32,
    pub state: String,
}

/// How far the final read got in one partition: from `low` to `reached`, of `high` (the high
/// watermark taken before reading). Complete when `reached >= high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadEvent {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
    pub reached: i64,
    pub records: u64,
    /// Records handed back at an offset below one already read (an offset reset or a
    /// truncation during the read); skipped, and the read is then no evidence.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rewound: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Whether the consumer group caught up (committed the end of every partition) after the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainEvent {
    pub time_ms: f64,
    pub caught_up: bool,
    /// How long the drain waited.
    pub waited_ms: f64,
    /// `0 records behind`, `35 records behind`, or the last error.
    pub detail: String,
}

/// Free-form remark from the runner (phase changes, timeouts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteEvent {
    pub time_ms: f64,
    pub text: String,
}

/// The run of the cell ended early: the history stops here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbortEvent {
    pub time_ms: f64,
    pub reason: String,
}

/// The first line of a history: what the cell was meant to do, so that a history can be checked
/// (and what ran compared with what was planned) without the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellEvent {
    pub id: String,
    pub brokers: u16,
    /// Dedicated KRaft controllers; 0: every broker is a voter.
    pub controllers: u16,
    pub partitions: u32,
    pub replication_factor: u16,
    pub producers: u32,
    pub consumers: u32,
    /// How long the producers send, in milliseconds.
    pub duration_ms: u64,
    /// The fault steps, in the order they run.
    pub steps: Vec<crate::model::FaultStep>,
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Cell(CellEvent),
    Send(SendEvent),
    Txn(TxnEvent),
    Processed(ProcessedEvent),
    Log(LogEvent),
    Step(StepEvent),
    Fault(FaultEvent),
    Commit(CommitEvent),
    Rebalance(RebalanceEvent),
    LeaderChange(LeaderChangeEvent),
    Worker(WorkerEvent),
    Read(ReadEvent),
    Drain(DrainEvent),
    Note(NoteEvent),
    Abort(AbortEvent),
}

impl Event {
    /// The event's time, for the runner to stamp; `cell`, `log` and `read` events have none.
    pub fn time_ms_mut(&mut self) -> Option<&mut f64> {
        match self {
            Event::Send(e) => Some(&mut e.time_ms),
            Event::Txn(e) => Some(&mut e.time_ms),
            Event::Processed(e) => Some(&mut e.time_ms),
            Event::Step(e) => Some(&mut e.time_ms),
            Event::Fault(e) => Some(&mut e.time_ms),
            Event::Commit(e) => Some(&mut e.time_ms),
            Event::Rebalance(e) => Some(&mut e.time_ms),
            Event::LeaderChange(e) => Some(&mut e.time_ms),
            Event::Worker(e) => Some(&mut e.time_ms),
            Event::Drain(e) => Some(&mut e.time_ms),
            Event::Note(e) => Some(&mut e.time_ms),
            Event::Abort(e) => Some(&mut e.time_ms),
            Event::Cell(_) | Event::Log(_) | Event::Read(_) => None,
        }
    }

    /// The `type` tag of the event (`send`, `fault`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Cell(_) => "cell",
            Event::Send(_) => "send",
            Event::Txn(_) => "txn",
            Event::Processed(_) => "processed",
            Event::Log(_) => "log",
            Event::Step(_) => "step",
            Event::Fault(_) => "fault",
            Event::Commit(_) => "commit",
            Event::Rebalance(_) => "rebalance",
            Event::LeaderChange(_) => "leader_change",
            Event::Worker(_) => "worker",
            Event::Read(_) => "read",
            Event::Drain(_) => "drain",
            Event::Note(_) => "note",
            Event::Abort(_) => "abort",
        }
    }

    /// Read one line whose `type` is `kind` into that event, straight into its struct (the tag
    /// is ignored there), so serde's errors keep their columns.
    pub fn from_json_as(kind: &str, line: &[u8]) -> serde_json::Result<Event> {
        use serde::de::Error as _;
        use serde_json::from_slice as read;
        Ok(match kind {
            "cell" => Event::Cell(read(line)?),
            "send" => Event::Send(read(line)?),
            "txn" => Event::Txn(read(line)?),
            "processed" => Event::Processed(read(line)?),
            "log" => Event::Log(read(line)?),
            "step" => Event::Step(read(line)?),
            "fault" => Event::Fault(read(line)?),
            "commit" => Event::Commit(read(line)?),
            "rebalance" => Event::Rebalance(read(line)?),
            "leader_change" => Event::LeaderChange(read(line)?),
            "worker" => Event::Worker(read(line)?),
            "read" => Event::Read(read(line)?),
            "drain" => Event::Drain(read(line)?),
            "note" => Event::Note(read(line)?),
            "abort" => Event::Abort(read(line)?),
            other => return Err(serde_json::Error::custom(format!("unknown event type `{other}`"))),
        })
    }

    pub fn note(text: impl Into<String>) -> Event {
        Event::Note(NoteEvent { time_ms: 0.0, text: text.into() })
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The types the checker reads; every other type is context for people and is skipped.
pub const CHECKED_KINDS: [&str; 11] =
    ["cell", "send", "txn", "processed", "log", "step", "fault", "read", "drain", "abort", "worker"];

/// The one writer of a history file. Not `Sync` on purpose: the runner owns it and funnels every
/// event through it, so the file's order is the order the runner saw.
pub struct HistoryWriter {
    out: BufWriter<File>,
    lines: u64,
}

impl HistoryWriter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = File::create(path)?;
        Ok(HistoryWriter { out: BufWriter::with_capacity(1 << 20, file), lines: 0 })
    }

    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_shape() {
        let send = Event::Send(SendEvent {
            time_ms: 1.5,
            producer: 0,
            seq: 7,
            outcome: SendOutcome::Acked,
            partition: Some(2),
            offset: Some(9),
            status: None,
            latency_ms: None,
            error: None,
        });
        assert_eq!(
            serde_json::to_string(&send).unwrap(),
            r#"{"type":"send","time_ms":1.5,"producer":0,"seq":7,"outcome":"acked","partition":2,"offset":9}"#
        );
        let fault = Event::Fault(FaultEvent {
            time_ms: 10.0,
            action: crate::model::FaultActionKind::Kill,
            target: "broker-2".into(),
            phase: FaultPhase::HealFailed,
            step: Some(1),
            spec: Some("leader:0".into()),
            took_ms: None,
            detail: None,
            discarded_bytes: None,
        });
        let json = serde_json::to_string(&fault).unwrap();
        assert_eq!(
            json,
            r#"{"type":"fault","time_ms":10.0,"action":"kill","target":"broker-2","phase":"heal_failed","step":1,"spec":"leader:0"}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), fault);
        let commit = Event::Commit(CommitEvent {
            time_ms: 0.0,
            consumer: 1,
            partition: 0,
            offset: 5,
            committing: false,
            error: None,
        });
        assert_eq!(
            serde_json::to_string(&commit).unwrap(),
            r#"{"type":"commit","time_ms":0.0,"consumer":1,"partition":0,"offset":5}"#
        );
    }

    #[test]
    fn every_kind_round_trips_and_names_itself() {
        let events = [
            Event::Read(ReadEvent { partition: 0, low: 0, high: 5, reached: 5, records: 5, rewound: 0 }),
            Event::Drain(DrainEvent { time_ms: 1.0, caught_up: false, waited_ms: 3.0, detail: "3 behind".into() }),
            Event::Abort(AbortEvent { time_ms: 2.0, reason: "x".into() }),
            Event::note("hello"),
            Event::Txn(TxnEvent {
                time_ms: 4.0,
                producer: 1,
                first_seq: 10,
                last_seq: 19,
                outcome: TxnOutcome::Aborted,
                open_ms: Some(12.5),
                error: None,
                why: Some("aborted on purpose".into()),
            }),
            Event::Step(StepEvent {
                time_ms: 3.0,
                step: 0,
                action: crate::model::FaultActionKind::Kill,
                target: "leader:0".into(),
                state: StepState::NotFired,
                why: "no".into(),
            }),
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert!(json.starts_with(&format!("{{\"type\":\"{}\"", event.kind())), "{json}");
            assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
            assert_eq!(Event::from_json_as(event.kind(), json.as_bytes()).unwrap(), event);
        }
    }
}
