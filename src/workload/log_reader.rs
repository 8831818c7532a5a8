//! The ground truth at the end of a run: every record in the topic, read by a fresh consumer that
//! commits nothing, and how far a consumer group is behind.
//!
//! The reader assigns every partition itself (no group membership, no rebalance), reads each from
//! its low watermark to the high watermark taken before it starts (the end of what replicas have
//! acknowledged: `read_uncommitted` stops there too), and hands one `Log` event per record of this
//! run. Records of other runs and foreign records are counted, not reported one by one.

use super::record::{self, Decoded};
use super::{client_config, creation_error, emit, EventSender};
use crate::model::{Isolation, Security};
use crate::error::{Error, Result};
use crate::history::{Event, LogEvent, ReadEvent};
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// One metadata or watermark request; retried until the overall timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_TIMEOUT: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct LogReaderConfig {
    pub run_id: String,
    pub bootstrap_servers: String,
    pub topic: String,
    /// The whole read, watermarks included.
    pub timeout: Duration,
    /// Extra consumer properties (fetch sizes, ...). Commit and isolation settings are the
    /// reader's and win.
    pub properties: BTreeMap<String, String>,
    /// Uncommitted unless the cell's transactions are to be read as a read_committed
    /// application reads them.
    pub isolation: Isolation,
}

impl LogReaderConfig {
    pub fn new(run_id: &str, bootstrap_servers: &str, topic: &str) -> LogReaderConfig {
        LogReaderConfig {
            run_id: run_id.to_string(),
            bootstrap_servers: bootstrap_servers.to_string(),
            topic: topic.to_string(),
            timeout: Duration::from_secs(120),
            properties: BTreeMap::new(),
            isolation: Isolation::ReadUncommitted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRead {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
    /// The next offset the reader would have read: `high` when the partition was read fully.
    pub reached: i64,
    pub records: u64,
    /// Records handed back below `reached` (an offset reset, a truncation): skipped.
    pub rewound: u64,
    /// The offset of the last record read (of any run), None if none: where a consumer of the
    /// same isolation ends, since transaction markers after it are never handed to anyone.
    pub last_record: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogSummary {
    /// Every record read.
    pub records: u64,
    /// Records of this run (one `Log` event each).
    pub ours: u64,
    /// Records written by kafka-chaos in another run.
    pub other_run: u64,
    /// Records not written by kafka-chaos.
    pub foreign: u64,
    pub partitions: Vec<PartitionRead>,
    /// True when the timeout came before every partition reached its high watermark.
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl PartitionRead {
    /// The history's record of this partition's read.
    pub fn event(&self) -> ReadEvent {
        ReadEvent {
            partition: self.partition,
            low: self.low,
            high: self.high,
            reached: self.reached,
            records: self.records,
            rewound: self.rewound,
        }
    }
}

impl LogSummary {
    pub fn complete(&self) -> bool {
        !self.timed_out && self.partitions.iter().all(|p| p.reached >= p.high)
    }

    /// Partitions not read to their high watermark, for an error message.
    pub fn unfinished(&self) -> Vec<String> {
        self.partitions
            .iter()
            .filter(|p| p.reached < p.high)
            .map(|p| format!("partition {} at {} of {}", p.partition, p.reached, p.high))
            .collect()
    }
}

/// Read the whole topic and emit a `Log` event per record of this run.
pub async fn read_log(config: LogReaderConfig, events: EventSender) -> Result<LogSummary> {
    tokio::task::spawn_blocking(move || read_log_blocking(&config, &events))
        .await
        .map_err(|e| Error::infra(format!("the log reader task failed: {e}")))?
}

fn reader(
    bootstrap_servers: &str,
    group: &str,
    properties: &BTreeMap<String, String>,
    isolation: Isolation,
    who: &str,
) -> Result<BaseConsumer> {
    let mut config = client_config(&[("bootstrap.servers", bootstrap_servers), ("group.id", group)], properties);
    // Never commit, never store: the reader must not move any group's offsets, including its own.
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", isolation.as_str())
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false");
    config.create_with_context(DefaultConsumerContext).map_err(|e| creation_error(who, e))
}

/// Retry `request` until it succeeds or `deadline` passes; Err carries the last error.
fn retry<T, E: std::fmt::Display>(
    deadline: Instant,
    mut request: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, String> {
    loop {
        match request() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn partition_ids(consumer: &BaseConsumer, topic: &str, deadline: Instant) -> Result<Vec<i32>> {
    let ids = retry(deadline, || {
        let metadata = consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT).map_err(|e| e.to_string())?;
        let t = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| (t.error(), t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>()));
        match t {
            Some((None, ids)) if !ids.is_empty() => Ok(ids),
            Some((Some(e), _)) => Err(format!("{e:?}")),
            _ => Err("topic not in the metadata".to_string()),
        }
    })
    .map_err(|e| Error::infra(format!("cannot read the partitions of topic {topic}: {e}; is the cluster up?")))?;
    let mut ids = ids;
    ids.sort_unstable();
    Ok(ids)
}

fn read_log_blocking(config: &LogReaderConfig, events: &EventSender) -> Result<LogSummary> {
    record::validate_run_id(&config.run_id)?;
    let started = Instant::now();
    let deadline = started + config.timeout;
    let group = format!("kafka-chaos-reader-{}", config.run_id);
    let consumer = reader(&config.bootstrap_servers, &group, &config.properties, config.isolation, "the log reader")?;
    let topic = config.topic.as_str();
    let mut reads = Vec::new();
    for partition in partition_ids(&consumer, topic, deadline)? {
        let (low, high) =
            retry(deadline, || consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT)).map_err(|e| {
                Error::infra(format!(
                    "cannot read the watermarks of {topic} partition {partition}: {e}; is its leader up?"
                ))
            })?;
        reads.push(PartitionRead { partition, low, high, reached: low, records: 0, rewound: 0, last_record: None });
    }
    let mut assignment = TopicPartitionList::new();
    for read in reads.iter().filter(|r| r.high > r.low) {
        let _ = assignment.add_partition_offset(topic, read.partition, Offset::Offset(read.low));
    }
    consumer
        .assign(&assignment)
        .map_err(|e| Error::infra(format!("the log reader cannot assign the partitions of {topic}: {e}")))?;
    let index: HashMap<i32, usize> = reads.iter().enumerate().map(|(i, r)| (r.partition, i)).collect();
    let mut summary = LogSummary {
        records: 0,
        ours: 0,
        other_run: 0,
        foreign: 0,
        partitions: vec![],
        timed_out: false,
        elapsed: Duration::ZERO,
    };
    let done = |reads: &[PartitionRead]| reads.iter().all(|r| r.reached >= r.high);
    while !done(&reads) {
        if Instant::now() >= deadline {
            summary.timed_out = true;
            break;
        }
        match consumer.poll(POLL_TIMEOUT) {
            Some(Ok(msg)) => {
                let Some(&i) = index.get(&msg.partition()) else { continue };
                let read = &mut reads[i];
                // Past the high watermark taken at the start: not part of this read.
                if msg.offset() >= read.high {
                    read.reached = read.reached.max(read.high);
                    continue;
                }
                // Below what was read already: the reader was sent back (an offset reset to
                // the earliest, a truncation). Reading it again would count it twice.
                if msg.offset() < read.reached {
                    read.rewound += 1;
                    continue;
                }
                read.reached = msg.offset() + 1;
                read.last_record = Some(msg.offset());
                read.records += 1;
                summary.records += 1;
                match record::decode(&config.run_id, msg.payload()) {
                    Decoded::Ours { producer, seq } => {
                        summary.ours += 1;
                        let record = LogEvent { producer, seq, partition: msg.partition(), offset: msg.offset() };
                        emit(events, Event::Log(record));
                    }
                    Decoded::OtherRun(_) => summary.other_run += 1,
                    Decoded::Foreign => summary.foreign += 1,
                }
            }
            Some(Err(e)) => tracing::debug!("log reader: {e}"),
            None => {
                // Control records (transaction markers) take offsets but are never returned:
                // the position moves past them, so ask for it when nothing comes.
                if let Ok(positions) = consumer.position() {
                    for elem in positions.elements() {
                        if let (Some(&i), Offset::Offset(pos)) = (index.get(&elem.partition()), elem.offset()) {
                            reads[i].reached = reads[i].reached.max(pos.min(reads[i].high));
                        }
                    }
                }
            }
        }
    }
    summary.partitions = reads;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed offset; None when it has committed nothing for the partition.
    pub committed: Option<i64>,
    pub low: i64,
    pub high: i64,
    /// `high - committed`, or `high - low` without a commit.
    pub lag: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLag {
    pub partitions: Vec<PartitionLag>,
    pub total: i64,
}

/// How far `group` is behind on `topic`: its committed offsets against the high watermarks.
/// Reads the group's offsets without joining it (no subscription), so it disturbs nothing.
pub async fn lag(
    bootstrap_servers: &str,
    security: Option<&Security>,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> Result<GroupLag> {
    let (bootstrap_servers, group, topic) = (bootstrap_servers.to_string(), group.to_string(), topic.to_string());
    let mut properties = BTreeMap::new();
    if let Some(security) = security {
        security.add_rdkafka_to(&mut properties);
    }
    tokio::task::spawn_blocking(move || lag_blocking(&bootstrap_servers, &properties, &group, &topic, timeout))
        .await
        .map_err(|e| Error::infra(format!("the lag task failed: {e}")))?
}

fn lag_blocking(
    bootstrap_servers: &str,
    properties: &BTreeMap<String, String>,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> Result<GroupLag> {
    let deadline = Instant::now() + timeout;
    let consumer = reader(bootstrap_servers, group, properties, Isolation::ReadUncommitted, "the lag reader")?;
    let ids = partition_ids(&consumer, topic, deadline)?;
    let mut request = TopicPartitionList::new();
    for p in &ids {
        request.add_partition(topic, *p);
    }
    let committed = retry(deadline, || consumer.committed_offsets(request.clone(), REQUEST_TIMEOUT))
        .map_err(|e| Error::infra(format!("cannot read the committed offsets of group {group}: {e}")))?;
    let mut partitions = Vec::with_capacity(ids.len());
    for p in ids {
        let (low, high) = retry(deadline, || consumer.fetch_watermarks(topic, p, REQUEST_TIMEOUT))
            .map_err(|e| Error::infra(format!("cannot read the watermarks of {topic} partition {p}: {e}")))?;
        let committed = committed.find_partition(topic, p).and_then(|e| match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        });
        let lag = (high - committed.unwrap_or(low)).max(0);
        partitions.push(PartitionLag { partition: p, committed, low, high, lag });
    }
    let total = partitions.iter().map(|p| p.lag).sum();
    Ok(GroupLag { partitions, total })
}
