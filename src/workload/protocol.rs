//! The worker protocol (`docs/worker-protocol.md`): the config a worker reads as the first line of
//! its stdin, and the lines it writes on stdout. Every client's worker (Rust, Go, Java) speaks
//! it; the harness reads it in `worker_process`, and the Rust worker writes it.

use crate::history::{PersistStatus, SendOutcome, TxnOutcome};
use crate::model::{CommitMode, Isolation, KeyRouting};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Producer,
    Consumer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Producer => "producer",
            Role::Consumer => "consumer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first line of a worker's stdin. Fields of the other role are left at their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerConfig {
    pub protocol: u32,
    pub role: Role,
    pub id: u32,
    /// Written into every message (see `record`).
    pub run_id: String,
    pub bootstrap_servers: String,
    pub topic: String,

    // Producer.
    #[serde(default)]
    pub partitions: i32,
    /// Messages per second; 0 = as fast as `max_in_flight` allows.
    #[serde(default)]
    pub rate: u64,
    #[serde(default)]
    pub payload_bytes: usize,
    #[serde(default = "round_robin")]
    pub routing: KeyRouting,
    /// Stop sending this long after `ready`.
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub first_seq: u64,
    #[serde(default)]
    pub max_messages: Option<u64>,
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// `0`, `1` or `all`; None: the client's own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks: Option<String>,
    /// None: the client's own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotence: Option<bool>,
    /// None: not transactional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TransactionConfig>,

    // Consumer.
    #[serde(default)]
    pub group_id: String,
    #[serde(default = "default_commit")]
    pub commit: CommitMode,
    #[serde(default = "one")]
    pub commit_every: u32,
    #[serde(default = "second")]
    pub commit_interval_ms: u64,
    #[serde(default)]
    pub processing_ms: f64,
    #[serde(default)]
    pub processing_buffer: usize,
    /// None: the client's own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,

    /// The client's own settings by its own names.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// How to authenticate (SASL, TLS), for each worker to turn into its client's settings;
    /// absent: plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<crate::model::Security>,
}

/// A transactional producer's settings (`docs/worker-protocol.md`, Transactions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionConfig {
    /// `transactional.id`; the same for every process of one producer id.
    pub id: String,
    pub messages: u32,
    pub abort_every: u32,
    pub timeout_ms: u64,
}

impl TransactionConfig {
    pub fn aborts_on_purpose(&self, first_seq: u64) -> bool {
        crate::model::Transactions::aborts_on_purpose(self.messages, self.abort_every, first_seq)
    }
}

fn round_robin() -> KeyRouting {
    KeyRouting::RoundRobin
}

fn default_max_in_flight() -> usize {
    10_000
}

fn default_commit() -> CommitMode {
    CommitMode::DEFAULT
}

fn one() -> u32 {
    1
}

fn second() -> u64 {
    1000
}

impl WorkerConfig {
    /// A config for `role` with every role-specific field at its default.
    pub fn new(role: Role, id: u32, run_id: &str, bootstrap_servers: &str, topic: &str) -> WorkerConfig {
        WorkerConfig {
            protocol: PROTOCOL_VERSION,
            role,
            id,
            run_id: run_id.to_string(),
            bootstrap_servers: bootstrap_servers.to_string(),
            topic: topic.to_string(),
            partitions: 0,
            rate: 0,
            payload_bytes: 0,
            routing: KeyRouting::RoundRobin,
            duration_ms: 0,
            first_seq: 0,
            max_messages: None,
            max_in_flight: default_max_in_flight(),
            acks: None,
            idempotence: None,
            transaction: None,
            group_id: String::new(),
            commit: CommitMode::DEFAULT,
            commit_every: 1,
            commit_interval_ms: 1000,
            processing_ms: 0.0,
            processing_buffer: 0,
            isolation: None,
            properties: BTreeMap::new(),
            security: None,
        }
    }
}

/// One line of a worker's stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// The client exists: a producer is about to send, a consumer has subscribed.
    Ready {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// A client-level error worth a note (repeats of one message at most every 5 s).
    Error { message: String },
    /// The last line of a graceful stop.
    Stopped {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        processed: Option<u64>,
    },

    /// Producer: message `seq` is about to be handed to the client.
    Sending {
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<i32>,
    },
    /// Producer: the one outcome of message `seq`.
    Outcome {
        seq: u64,
        outcome: SendOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_ms: Option<f64>,
        /// librdkafka's persistence status, where the client has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<PersistStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Why the error was classified so (the classifier's rule).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },

    /// Producer, transactional: a transaction began; its messages follow.
    TxnBegin { first_seq: u64 },
    /// Producer, transactional: the commit or abort of the transaction returned.
    TxnEnd {
        first_seq: u64,
        last_seq: u64,
        outcome: TxnOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },

    /// Consumer: partitions assigned (`assign`, maybe none) or taken away (`revoke`).
    Rebalance { kind: String, partitions: Vec<i32> },
    /// Consumer: a record of this run, processed.
    Processed { producer: u32, seq: u64, partition: i32, offset: i64 },
    /// Consumer: a record that is not of this run, processed like the others.
    Foreign { partition: i32, offset: i64, detail: String },
    /// Consumer: an explicit commit of this offset is about to be sent.
    Committing { partition: i32, offset: i64 },
    /// Consumer: a commit of this offset succeeded, or failed with `error`.
    Commit {
        partition: i32,
        offset: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Where a worker writes its lines.
pub trait LineSink: Send + Sync {
    /// False once the reader is gone.
    fn emit(&self, line: &Line) -> bool;
    /// True once the reader is gone (checked between polls, so an idle worker notices too).
    fn closed(&self) -> bool;
}

/// stdout, one line per event, flushed at once.
#[derive(Default)]
pub struct StdoutSink {
    closed: AtomicBool,
}

impl LineSink for StdoutSink {
    fn emit(&self, line: &Line) -> bool {
        let mut text = serde_json::to_vec(line).expect("worker lines serialize");
        text.push(b'\n');
        let mut out = std::io::stdout().lock();
        let ok = out.write_all(&text).and_then(|_| out.flush()).is_ok();
        if !ok {
            self.closed.store(true, Ordering::SeqCst);
        }
        ok
    }

    fn closed(&self) -> bool {
        if self.closed.load(Ordering::SeqCst) {
            return true;
        }
        // The write end of a pipe whose reader has gone reports POLLERR.
        let mut fd = libc::pollfd { fd: 1, events: 0, revents: 0 };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        let gone = n > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0;
        if gone {
            self.closed.store(true, Ordering::SeqCst);
        }
        gone
    }
}

/// A producer worker's reports, as lines.
impl super::producer::ProducerSink for StdoutSink {
    fn ready(&self) {
        self.emit(&Line::Ready { pid: Some(std::process::id()) });
    }

    fn sending(&self, seq: u64, partition: Option<i32>) {
        self.emit(&Line::Sending { seq, partition });
    }

    fn txn_begin(&self, first_seq: u64) {
        self.emit(&Line::TxnBegin { first_seq });
    }

    fn txn_end(&self, end: super::producer::TxnEnd) {
        let super::producer::TxnEnd { first_seq, last_seq, outcome, error, why } = end;
        self.emit(&Line::TxnEnd { first_seq, last_seq, outcome, error, why });
    }

    fn outcome(&self, r: super::producer::Report) {
        self.emit(&Line::Outcome {
            seq: r.seq,
            outcome: r.outcome,
            partition: r.partition,
            offset: r.offset,
            latency_ms: r.latency_ms,
            status: r.status,
            error: r.error,
            why: r.why,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_documented_shape() {
        let cases = [
            (Line::Ready { pid: None }, r#"{"type":"ready"}"#),
            (Line::Sending { seq: 12, partition: Some(0) }, r#"{"type":"sending","seq":12,"partition":0}"#),
            (
                Line::Outcome {
                    seq: 12,
                    outcome: SendOutcome::Acked,
                    partition: Some(0),
                    offset: Some(345),
                    latency_ms: Some(3.2),
                    status: None,
                    error: None,
                    why: None,
                },
                r#"{"type":"outcome","seq":12,"outcome":"acked","partition":0,"offset":345,"latency_ms":3.2}"#,
            ),
            (Line::Committing { partition: 0, offset: 346 }, r#"{"type":"committing","partition":0,"offset":346}"#),
            (Line::Commit { partition: 2, offset: 8, error: None }, r#"{"type":"commit","partition":2,"offset":8}"#),
            (
                Line::Processed { producer: 1, seq: 2, partition: 0, offset: 7 },
                r#"{"type":"processed","producer":1,"seq":2,"partition":0,"offset":7}"#,
            ),
            (Line::Stopped { processed: None }, r#"{"type":"stopped"}"#),
            (Line::TxnBegin { first_seq: 50 }, r#"{"type":"txn_begin","first_seq":50}"#),
            (
                Line::TxnEnd { first_seq: 50, last_seq: 59, outcome: TxnOutcome::Committed, error: None, why: None },
                r#"{"type":"txn_end","first_seq":50,"last_seq":59,"outcome":"committed"}"#,
            ),
        ];
        for (line, json) in cases {
            assert_eq!(serde_json::to_string(&line).unwrap(), json);
            assert_eq!(serde_json::from_str::<Line>(json).unwrap(), line);
        }
    }

    #[test]
    fn a_config_fills_in_what_its_role_does_not_use() {
        let json = r#"{"protocol":1,"role":"consumer","id":1,"run_id":"r","bootstrap_servers":"b","topic":"t","group_id":"g","commit":"manual-sync"}"#;
        let config: WorkerConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.commit, CommitMode::ManualSync);
        assert_eq!((config.commit_every, config.max_in_flight, config.acks.clone()), (1, 10_000, None));
        let round_trip: WorkerConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(round_trip, config);
    }
}
