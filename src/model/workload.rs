//! What the clients do in every cell: how many, how fast, how records are routed and processed,
//! and how long the harness waits after the run.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub producers: u32,
    /// Consumers in one group; 0: produce only (consumer counts stay 0).
    pub consumers: u32,
    /// How long the producers send; fault times are measured from their start.
    #[serde(with = "millis")]
    pub duration: Duration,
    /// Messages per second over all producers; 0 = as fast as possible.
    pub rate: u64,
    pub payload_bytes: u32,
    /// Simulated work per record in the consumer.
    #[serde(with = "millis")]
    pub processing: Duration,
    /// Records a consumer holds between poll and processing; 0 = processes in the poll loop.
    pub processing_buffer: u32,
    pub key_routing: KeyRouting,
    /// Explicit commit modes commit once per this many processed (or, before-process, taken)
    /// records, or once `commit_interval` has passed since the last commit, whichever comes first.
    pub commit_every: u32,
    #[serde(with = "millis", default = "default_commit_interval")]
    pub commit_interval: Duration,
    /// The longest the consumers may take to catch up after the run.
    #[serde(with = "millis")]
    pub drain_timeout: Duration,
    /// Quiet time after every fault is healed, before draining.
    #[serde(with = "millis")]
    pub settle: Duration,
    /// A command template that starts each worker elsewhere (`ssh loadgen-1 {command}`); None:
    /// on this machine. The worker's config goes in on its stdin, its events come back on stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// Transactional producers; None: plain ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Transactions>,
    /// What the consumers and the final reader read; None: each client's default (librdkafka,
    /// and so the final reader, reads committed; kafka-clients and sarama uncommitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
}

/// Producers that send in transactions, as a Kafka Streams or Flink sink does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transactions {
    /// Messages per transaction.
    pub messages: u32,
    /// The last of every this many transactions is aborted on purpose; 0: none.
    pub abort_every: u32,
    /// `transaction.timeout.ms`: how long the coordinator lets a transaction stay open.
    #[serde(with = "millis")]
    pub timeout: Duration,
}

impl Transactions {
    pub const DEFAULT_MESSAGES: u32 = 10;
    pub const DEFAULT_ABORT_EVERY: u32 = 5;
    pub const DEFAULT_TIMEOUT: &'static str = "10s";

    /// Whether the transaction that starts at `first_seq` is aborted on purpose (the protocol's
    /// rule, which every worker applies the same way).
    pub fn aborts_on_purpose(messages: u32, abort_every: u32, first_seq: u64) -> bool {
        abort_every > 0 && (first_seq / messages.max(1) as u64) % abort_every as u64 == abort_every as u64 - 1
    }
}

/// A consumer's `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Only records of committed transactions (and of no transaction).
    ReadCommitted,
    /// Every record, aborted transactions' too: the control that shows aborted data is there.
    ReadUncommitted,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read_committed",
            Isolation::ReadUncommitted => "read_uncommitted",
        }
    }
}

impl FromStr for Isolation {
    type Err = String;

    fn from_str(s: &str) -> Result<Isolation, String> {
        match s {
            "read_committed" => Ok(Isolation::ReadCommitted),
            "read_uncommitted" => Ok(Isolation::ReadUncommitted),
            _ => Err(format!("isolation must be \"read_committed\" or \"read_uncommitted\"; found \"{s}\"")),
        }
    }
}

impl Workload {
    pub const DEFAULT_PRODUCERS: u32 = 1;
    pub const DEFAULT_CONSUMERS: u32 = 1;
    pub const DEFAULT_DURATION: &'static str = "30s";
    pub const DEFAULT_RATE: u64 = 1000;
    pub const DEFAULT_PAYLOAD_BYTES: u32 = 256;
    pub const DEFAULT_PROCESSING: &'static str = "0s";
    pub const DEFAULT_PROCESSING_BUFFER: u32 = 0;
    /// What a service that commits "every 100 records or every second" writes; committing every
    /// record synchronously caps a consumer near 200 records/s (one round trip each).
    pub const DEFAULT_COMMIT_EVERY: u32 = 100;
    pub const DEFAULT_COMMIT_INTERVAL: &'static str = "1s";
    pub const DEFAULT_DRAIN_TIMEOUT: &'static str = "60s";
    pub const DEFAULT_SETTLE: &'static str = "5s";

    /// Records per second the consumers can process together, None if unbounded.
    pub fn consumer_capacity(&self) -> Option<f64> {
        if self.processing.is_zero() {
            None
        } else {
            Some(self.consumers as f64 / self.processing.as_secs_f64())
        }
    }

    /// Records per second the consumers can process and commit together in `commit` mode, None
    /// if unbounded: a synchronous commit stops the consumer for a round trip (`SYNC_COMMIT`),
    /// once per `commit_every` records at most.
    pub fn consumer_capacity_with(&self, commit: super::commit::CommitMode) -> Option<f64> {
        let per_record = self.processing.as_secs_f64()
            + if commit == super::commit::CommitMode::ManualSync || commit == super::commit::CommitMode::BeforeProcess {
                SYNC_COMMIT.as_secs_f64() / self.commit_every.max(1) as f64
            } else {
                0.0
            };
        (per_record > 0.0).then(|| self.consumers as f64 / per_record)
    }
}

/// A synchronous offset commit's round trip on a loaded 2-core machine (measured: committing each
/// record synchronously processed about 200 records/s).
pub const SYNC_COMMIT: Duration = Duration::from_millis(5);

fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}

/// How producers choose a partition for each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRouting {
    /// Message i of a producer goes to partition i mod P: every partition sees traffic.
    RoundRobin,
    /// By the hash of the message key (librdkafka's partitioner).
    Hash,
    /// Every message to partition N.
    Partition(u32),
}

impl fmt::Display for KeyRouting {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            KeyRouting::RoundRobin => f.write_str("round-robin"),
            KeyRouting::Hash => f.write_str("hash"),
            KeyRouting::Partition(p) => write!(f, "partition:{p}"),
        }
    }
}

impl FromStr for KeyRouting {
    type Err = String;

    fn from_str(s: &str) -> Result<KeyRouting, String> {
        match s {
            "round-robin" => Ok(KeyRouting::RoundRobin),
            "hash" => Ok(KeyRouting::Hash),
            _ => s
                .strip_prefix("partition:")
                .and_then(|p| p.parse().ok())
                .map(KeyRouting::Partition)
                .ok_or_else(|| {
                    format!("key_routing must be \"round-robin\", \"hash\" or \"partition:N\"; found \"{s}\"")
                }),
        }
    }
}

impl Serialize for KeyRouting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyRouting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A scenario duration: humantime's syntax ("40s", "1m 30s", "250ms").
pub fn parse_duration(field: &str, text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| {
        format!("{field} = \"{text}\" is not a duration ({e}); write e.g. \"40s\", \"1m 30s\" or \"250ms\"")
    })
}

/// Short human form: `40s`, `1m30s`, `2ms`, `1.5s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1000) {
        return format!("{}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// Durations in JSON as whole milliseconds.
pub mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_routing_round_trips() {
        for s in ["round-robin", "hash", "partition:2"] {
            assert_eq!(s.parse::<KeyRouting>().unwrap().to_string(), s);
        }
        assert!("partition:x".parse::<KeyRouting>().is_err());
        assert!("sticky".parse::<KeyRouting>().is_err());
    }

    #[test]
    fn the_last_of_every_abort_every_transactions_is_aborted() {
        let aborted: Vec<u64> = (0..100).step_by(10).filter(|&s| Transactions::aborts_on_purpose(10, 3, s)).collect();
        assert_eq!(aborted, [20, 50, 80]);
        assert!(!(0..1000).any(|s| Transactions::aborts_on_purpose(10, 0, s)));
        assert_eq!("read_uncommitted".parse::<Isolation>(), Ok(Isolation::ReadUncommitted));
        assert!("committed".parse::<Isolation>().is_err());
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("at", "1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("at", "10 seconds later")
            .unwrap_err()
            .starts_with("at = \"10 seconds later\" is not a duration"));
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(2)), "2ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h02m");
    }
}
