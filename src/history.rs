//! The history of one run: one event per line in `history.jsonl`, written by one writer (the runner),
//! which stamps `time_ms` (milliseconds since the start of the run) and keeps the order.
//!
//! The checker needs only `send`, `processed`, `log` and `fault`; every other type is context for the
//! reports (and for a human reading the file) and is skipped by the checker.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

/// What the producing application was told about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendOutcome {
    /// A successful delivery report.
    Acked,
    /// An error report for a message that was definitely not written (librdkafka NOT_PERSISTED).
    Failed,
    /// An error report for a message that may have been written, or no report by the end of the run.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPhase {
    Start,
    End,
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The one final outcome of one message, as the producer reported it to the application.
    Send {
        time_ms: f64,
        producer: u32,
        seq: u64,
        outcome: SendOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<PersistStatus>,
        /// Milliseconds from the send call to the delivery report.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A consumer finished processing a record (and only then told the runner).
    Processed {
        time_ms: f64,
        consumer: u32,
        producer: u32,
        seq: u64,
        partition: i32,
        offset: i64,
    },
    /// A record the final reader found in the log (the ground truth).
    Log { producer: u32, seq: u64, partition: i32, offset: i64 },
    /// A fault started or ended. `target` is the name as resolved when it fired (e.g. `broker-2`).
    Fault {
        time_ms: f64,
        action: String,
        target: String,
        phase: FaultPhase,
        /// The target as written in the scenario, e.g. `leader:0`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spec: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A consumer committed offsets (or tried to).
    Commit {
        time_ms: f64,
        consumer: u32,
        partition: i32,
        offset: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A consumer got or lost partitions.
    Rebalance { time_ms: f64, consumer: u32, kind: String, partitions: Vec<i32> },
    /// A partition's leader changed, as observed by the runner.
    LeaderChange { time_ms: f64, partition: i32, leader: Option<i32> },
    /// A worker process ended or was lost; outcome of what it was doing is unknown.
    Worker { time_ms: f64, role: String, id: u32, state: String },
    /// Free-form remark from the runner (phase changes, timeouts).
    Note { time_ms: f64, text: String },
}

impl Event {
    /// The event's time, for the runner to stamp; `log` events have none.
    pub fn time_ms_mut(&mut self) -> Option<&mut f64> {
        match self {
            Event::Send { time_ms, .. }
            | Event::Processed { time_ms, .. }
            | Event::Fault { time_ms, .. }
            | Event::Commit { time_ms, .. }
            | Event::Rebalance { time_ms, .. }
            | Event::LeaderChange { time_ms, .. }
            | Event::Worker { time_ms, .. }
            | Event::Note { time_ms, .. } => Some(time_ms),
            Event::Log { .. } => None,
        }
    }
}

/// The one writer of a history file. Not `Sync` on purpose: the runner owns it and funnels every
/// event through it, so the file's order is the order the runner saw.
pub struct HistoryWriter {
    out: BufWriter<File>,
    start: Instant,
    lines: u64,
}

impl HistoryWriter {
    pub fn create(path: &Path, start: Instant) -> std::io::Result<Self> {
        let file = File::create(path)?;
        Ok(HistoryWriter { out: BufWriter::with_capacity(1 << 20, file), start, lines: 0 })
    }

    /// Milliseconds since the start of the run, for stamping events.
    pub fn now_ms(&self) -> f64 {
        ms_since(self.start)
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

pub fn ms_since(start: Instant) -> f64 {
    let d = start.elapsed();
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}
