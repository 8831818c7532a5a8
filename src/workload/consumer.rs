//! The body of a consumer worker process (`kafka-chaos consumer-worker --config <json>`).
//!
//! It joins the group, "processes" each record (a delay, optionally after a bounded asynchronous
//! buffer, as services with a processing queue do), reports each record only once processed, and
//! commits per its `CommitMode`. It runs in its own process so that a crash is a SIGKILL with
//! nothing after it: an rdkafka consumer dropped in-process closes, and a close commits stored
//! offsets, including those of records the application never saw.
//!
//! Output is one JSON object per line (`WorkerLine`), flushed per line, on stdout; logs go to
//! stderr. The process stops gracefully when the stop flag is set (SIGTERM) or when stdout is
//! closed (the runner is gone): it stops fetching (pauses its partitions, which also discards
//! records fetched but not yet handed to it), processes what its buffer holds, commits per mode,
//! closes the consumer (leaving the group) and prints `stopped`.

use super::commit_queue::CommitQueue;
pub use super::protocol::{Line as WorkerLine, LineSink, StdoutSink};
use super::record::{self, Decoded};
use super::{client_config, creation_error, CommitMode};
use crate::error::{Error, Result};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// How long polls must find nothing before explicit commit modes commit a partial batch.
const IDLE_COMMIT_AFTER: Duration = Duration::from_secs(1);
/// The same consumer error repeats every poll while a broker is down; report it this often.
const ERROR_REPEAT_INTERVAL: Duration = Duration::from_secs(5);
/// At a graceful stop, how long to wait for the results of asynchronous commits.
const ASYNC_COMMIT_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsumerConfig {
    pub id: u32,
    /// Records of other runs are reported as `foreign`, not processed as ours.
    pub run_id: String,
    pub bootstrap_servers: String,
    pub topic: String,
    pub group_id: String,
    pub commit: CommitMode,
    /// Manual modes and before-process commit once per this many records, and whatever is
    /// pending once polls have found nothing new for a second (and on revoke and stop). Auto
    /// modes ignore it.
    #[serde(default = "one")]
    pub commit_every: u32,
    /// ... or once this many milliseconds have passed since the last commit.
    #[serde(default = "second")]
    pub commit_interval_ms: u64,
    /// Simulated work per record, milliseconds.
    #[serde(default)]
    pub processing_ms: f64,
    /// Records held between receipt and processing; 0 = process in the poll loop.
    #[serde(default)]
    pub processing_buffer: usize,
    /// librdkafka consumer properties by their own names. `enable.auto.commit` and
    /// `enable.auto.offset.store` are the commit mode's and are overridden by it.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

fn second() -> u64 {
    1000
}

impl ConsumerConfig {
    pub fn new(
        id: u32,
        run_id: &str,
        bootstrap_servers: &str,
        topic: &str,
        group_id: &str,
        commit: CommitMode,
    ) -> Self {
        ConsumerConfig {
            id,
            run_id: run_id.to_string(),
            bootstrap_servers: bootstrap_servers.to_string(),
            topic: topic.to_string(),
            group_id: group_id.to_string(),
            commit,
            commit_every: 1,
            commit_interval_ms: 1000,
            processing_ms: 0.0,
            processing_buffer: 0,
            properties: BTreeMap::new(),
        }
    }

    /// Settings the harness makes, in order; the scenario's properties come after them (and
    /// win), the commit mode's last.
    fn client_config(&self) -> rdkafka::ClientConfig {
        let client_id = format!("kafka-chaos-consumer-{}", self.id);
        let harness = [
            ("bootstrap.servers", self.bootstrap_servers.as_str()),
            ("group.id", self.group_id.as_str()),
            ("client.id", client_id.as_str()),
            ("auto.offset.reset", "earliest"),
            // A SIGKILLed member's partitions go to the others after this long, not after 45 s.
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
        ];
        let mut config = client_config(&harness, &self.properties);
        for (k, v) in self.commit.consumer_properties() {
            config.set(k, v);
        }
        config
    }
}

/// A record as received, owned so it can wait in the processing buffer.
#[derive(Debug, Clone)]
struct Received {
    partition: i32,
    offset: i64,
    ids: std::result::Result<(u32, u64), String>,
}

/// Offsets processed (or received, for before-process) and not yet committed.
struct Pending {
    offsets: BTreeMap<i32, i64>,
    since_commit: u32,
    last_commit: Instant,
}

impl Default for Pending {
    fn default() -> Pending {
        Pending { offsets: BTreeMap::new(), since_commit: 0, last_commit: Instant::now() }
    }
}

/// What the poll thread, the processing thread and the rebalance callback share.
struct Shared {
    config: ConsumerConfig,
    sink: Arc<dyn LineSink>,
    pending: Mutex<Pending>,
    /// Asynchronous commits (manual-async); taken out before the consumer is dropped.
    commit_queue: Mutex<Option<CommitQueue>>,
    processed: AtomicU64,
    last_error: Mutex<Option<(String, Instant, u64)>>,
    /// Partitions held now: offsets of others are never committed again.
    assigned: Mutex<std::collections::BTreeSet<i32>>,
}

impl Shared {
    fn emit(&self, line: WorkerLine) {
        self.sink.emit(&line);
    }

    fn error(&self, message: String) {
        let mut last = self.last_error.lock().unwrap();
        match last.as_mut() {
            Some((m, at, repeats)) if *m == message && at.elapsed() < ERROR_REPEAT_INTERVAL => {
                *repeats += 1;
            }
            _ => {
                let repeats = last.as_ref().filter(|(m, _, _)| *m == message).map(|(_, _, r)| *r).unwrap_or(0);
                let text = if repeats > 0 { format!("{message} (and {repeats} more times)") } else { message.clone() };
                *last = Some((message, Instant::now(), 0));
                drop(last);
                self.emit(WorkerLine::Error { message: text });
            }
        }
    }

    /// Note an offset to commit; true when `commit_every` records have accumulated or
    /// `commit_interval_ms` has passed since the last commit.
    fn note(&self, partition: i32, next_offset: i64) -> bool {
        let mut p = self.pending.lock().unwrap();
        p.offsets.insert(partition, next_offset);
        p.since_commit += 1;
        p.since_commit >= self.config.commit_every.max(1)
            || p.last_commit.elapsed() >= Duration::from_millis(self.config.commit_interval_ms.max(1))
    }

    /// Commit what is pending (only `partitions`, if given). Synchronous commits report their
    /// result here; asynchronous ones when `serve_async_commits` finds it.
    fn commit_pending(&self, consumer: &BaseConsumer<WorkerContext>, sync: bool, partitions: Option<&[i32]>) {
        let offsets: Vec<(i32, i64)> = {
            let assigned = self.assigned.lock().unwrap();
            let mut p = self.pending.lock().unwrap();
            let taken: Vec<(i32, i64)> = match partitions {
                // Only partitions still held: after a revoke, records of a partition processed
                // late would otherwise commit an offset behind its new owner's.
                None => only_held(std::mem::take(&mut p.offsets), &assigned),
                Some(only) => {
                    let keys: Vec<i32> = p.offsets.keys().copied().filter(|k| only.contains(k)).collect();
                    keys.into_iter().filter_map(|k| p.offsets.remove(&k).map(|o| (k, o))).collect()
                }
            };
            if p.offsets.is_empty() {
                p.since_commit = 0;
            }
            p.last_commit = Instant::now();
            taken
        };
        if offsets.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for &(partition, offset) in &offsets {
            let _ = tpl.add_partition_offset(&self.config.topic, partition, Offset::Offset(offset));
            self.emit(WorkerLine::Committing { partition, offset });
        }
        let error = if sync {
            consumer.commit(&tpl, rdkafka::consumer::CommitMode::Sync).err().map(|e| e.to_string())
        } else {
            let started = match self.commit_queue.lock().unwrap().as_ref() {
                Some(queue) => queue.commit(consumer, &tpl).map_err(|code| code.to_string()),
                None => Err("no queue for asynchronous commits".to_string()),
            };
            match started {
                // The result comes from `serve_async_commits`.
                Ok(()) => return,
                Err(error) => Some(error),
            }
        };
        for &(partition, offset) in &offsets {
            self.emit(WorkerLine::Commit { partition, offset, error: error.clone() });
        }
        if error.is_some() {
            self.keep(&offsets);
        }
    }

    /// Offsets whose commit failed go back to pending (for partitions still held, and unless a
    /// newer offset is pending): the next commit, or the idle commit, tries them again. Dropping
    /// them would leave an idle group behind for good after a coordinator failover.
    fn keep(&self, offsets: &[(i32, i64)]) {
        let assigned = self.assigned.lock().unwrap();
        let mut pending = self.pending.lock().unwrap();
        for &(partition, offset) in offsets.iter().filter(|(p, _)| assigned.contains(p)) {
            let kept = pending.offsets.entry(partition).or_insert(offset);
            *kept = (*kept).max(offset);
        }
    }

    /// Report the asynchronous commit results that have arrived, waiting up to `wait`.
    fn serve_async_commits(&self, wait: Duration) {
        if let Some(queue) = self.commit_queue.lock().unwrap().as_ref() {
            let mut failed = Vec::new();
            queue.serve(wait, |r| {
                if r.error.is_some() {
                    failed.push((r.partition, r.offset));
                }
                self.emit(WorkerLine::Commit { partition: r.partition, offset: r.offset, error: r.error })
            });
            self.keep(&failed);
        }
    }

    fn async_commits_in_flight(&self) -> u64 {
        self.commit_queue.lock().unwrap().as_ref().map_or(0, |q| q.in_flight())
    }

    /// What a record's processing consists of: the delay, the report, then the mode's step.
    fn process(&self, consumer: &BaseConsumer<WorkerContext>, record: Received) {
        if self.config.processing_ms > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(self.config.processing_ms / 1000.0));
        }
        match record.ids {
            Ok((producer, seq)) => {
                self.emit(WorkerLine::Processed { producer, seq, partition: record.partition, offset: record.offset });
            }
            Err(detail) => {
                self.emit(WorkerLine::Foreign { partition: record.partition, offset: record.offset, detail });
            }
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        match self.config.commit {
            CommitMode::Auto | CommitMode::BeforeProcess => {}
            CommitMode::AutoStoreAfterProcess => {
                // rd_kafka_offset_store stores offset + 1, as store_offset_from_message does.
                // Fails for records of a partition revoked while they waited in the buffer; one
                // line per partition and error (repeats are counted), not one per record.
                if let Err(e) = consumer.store_offset(&self.config.topic, record.partition, record.offset) {
                    self.error(format!("cannot store offsets of partition {}: {e}", record.partition));
                }
            }
            CommitMode::ManualSync | CommitMode::ManualAsync => {
                if self.note(record.partition, record.offset + 1) {
                    self.commit_pending(consumer, self.config.commit == CommitMode::ManualSync, None);
                }
            }
        }
    }
}

/// Reports rebalances and asynchronous commit results; commits pending offsets of revoked
/// partitions (manual modes) before they go.
/// The pending offsets of partitions in `assigned`; the others are dropped.
fn only_held(offsets: std::collections::BTreeMap<i32, i64>, assigned: &std::collections::BTreeSet<i32>) -> Vec<(i32, i64)> {
    offsets.into_iter().filter(|(p, _)| assigned.contains(p)).collect()
}

pub struct WorkerContext {
    shared: Arc<Shared>,
}

impl ClientContext for WorkerContext {}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let partitions = partitions_of(tpl);
            // Committed while still held; then no longer held: a failed commit of these is not
            // tried again by this worker (the next owner processes them again instead).
            if self.shared.config.commit.is_manual() {
                self.shared.commit_pending(consumer, true, Some(&partitions));
            }
            self.shared.assigned.lock().unwrap().retain(|p| !partitions.contains(p));
            self.shared.pending.lock().unwrap().offsets.retain(|p, _| !partitions.contains(p));
            self.shared.emit(WorkerLine::Rebalance { kind: "revoke".into(), partitions });
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let partitions = partitions_of(tpl);
                self.shared.assigned.lock().unwrap().extend(partitions.iter().copied());
                self.shared.emit(WorkerLine::Rebalance { kind: "assign".into(), partitions });
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => {
                self.shared.emit(WorkerLine::Rebalance { kind: "error".into(), partitions: vec![] });
                self.shared.error(format!("rebalance failed: {e}"));
            }
        }
    }

    /// Auto-commits (auto modes, and the final commit on close). Synchronous and queued
    /// asynchronous commits do not come here: librdkafka answers them on their own queues.
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(rdkafka::error::KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) = result {
            return; // nothing was stored since the last commit
        }
        let overall = result.err().map(|e| e.to_string());
        for elem in offsets.elements() {
            if let Offset::Offset(offset) = elem.offset() {
                let error = elem.error().err().map(|e| e.to_string()).or_else(|| overall.clone());
                self.shared.emit(WorkerLine::Commit { partition: elem.partition(), offset, error });
            }
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<i32> {
    let mut v: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
    v.sort_unstable();
    v
}

fn receive(run_id: &str, msg: &rdkafka::message::BorrowedMessage<'_>) -> Received {
    let ids = match record::decode(run_id, msg.payload()) {
        Decoded::Ours { producer, seq } => Ok((producer, seq)),
        Decoded::OtherRun(id) => Err(format!("run {} producer {} seq {}", id.run, id.producer, id.seq)),
        Decoded::Foreign => Err("not written by kafka-chaos".into()),
    };
    Received { partition: msg.partition(), offset: msg.offset(), ids }
}

/// Run a worker until `stop` is set or the sink closes; returns the number of records processed.
/// Creating the consumer is the only error: everything after is reported as lines.
pub fn run_worker(config: ConsumerConfig, sink: Arc<dyn LineSink>, stop: Arc<AtomicBool>) -> Result<u64> {
    record::validate_run_id(&config.run_id)?;
    let who = format!("consumer {}", config.id);
    let shared = Arc::new(Shared {
        config: config.clone(),
        sink: sink.clone(),
        pending: Mutex::new(Pending::default()),
        commit_queue: Mutex::new(None),
        processed: AtomicU64::new(0),
        last_error: Mutex::new(None),
        assigned: Mutex::new(Default::default()),
    });
    let consumer: BaseConsumer<WorkerContext> = config
        .client_config()
        .create_with_context(WorkerContext { shared: shared.clone() })
        .map_err(|e| creation_error(&who, e))?;
    let consumer = Arc::new(consumer);
    if config.commit == CommitMode::ManualAsync {
        *shared.commit_queue.lock().unwrap() = CommitQueue::new(&consumer);
    }
    consumer
        .subscribe(&[&config.topic])
        .map_err(|e| Error::Invalid(format!("{who}: cannot subscribe to topic {}: {e}", config.topic)))?;
    shared.emit(WorkerLine::Ready { pid: Some(std::process::id()) });

    let (buffer, processor) = if config.processing_buffer > 0 {
        let (tx, rx) = mpsc::sync_channel::<Received>(config.processing_buffer);
        let (shared, consumer) = (shared.clone(), consumer.clone());
        let thread = std::thread::Builder::new()
            .name("processing".into())
            .spawn(move || {
                for record in rx {
                    shared.process(&consumer, record);
                }
            })
            .map_err(|e| Error::io("cannot start the processing thread", e))?;
        (Some(tx), Some(thread))
    } else {
        (None, None)
    };

    let mut idle_since: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) && !sink.closed() {
        shared.serve_async_commits(Duration::ZERO);
        match consumer.poll(POLL_TIMEOUT) {
            // Nothing new for IDLE_COMMIT_AFTER: commit the tail, as a service committing "every
            // N records or when idle" does; otherwise the last partial batch would stay
            // uncommitted forever. Not on every empty poll: between two fetches of a steady
            // stream, that would commit after nearly every batch and hide the crash window.
            None => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if config.commit.is_manual() && since.elapsed() >= IDLE_COMMIT_AFTER {
                    shared.commit_pending(&consumer, config.commit != CommitMode::ManualAsync, None);
                }
            }
            Some(Err(e)) => shared.error(format!("consumer error: {e}")),
            Some(Ok(msg)) => {
                idle_since = None;
                let record = receive(&config.run_id, &msg);
                drop(msg);
                if config.commit == CommitMode::BeforeProcess && shared.note(record.partition, record.offset + 1) {
                    shared.commit_pending(&consumer, true, None);
                }
                match &buffer {
                    Some(tx) => {
                        if tx.send(record).is_err() {
                            break; // the processing thread is gone
                        }
                    }
                    None => shared.process(&consumer, record),
                }
            }
        }
    }

    // Graceful stop. Pausing bumps librdkafka's version barrier of each partition, so records
    // already fetched are discarded rather than returned (and, in `auto` mode, stored) by the
    // polls that closing makes.
    if let Ok(assignment) = consumer.assignment() {
        let _ = consumer.pause(&assignment);
    }
    drop(buffer);
    if let Some(thread) = processor {
        let _ = thread.join();
    }
    // Results of earlier asynchronous commits first, so the final commit is reported last.
    let waited = Instant::now();
    while shared.async_commits_in_flight() > 0 && waited.elapsed() < ASYNC_COMMIT_WAIT {
        shared.serve_async_commits(POLL_TIMEOUT);
    }
    if config.commit.is_manual() {
        shared.commit_pending(&consumer, true, None);
    }
    shared.commit_queue.lock().unwrap().take();
    // The last reference: closing revokes the partitions, commits stored offsets (auto modes)
    // and leaves the group, serving our callbacks as it goes.
    drop(consumer);
    let processed = shared.processed.load(Ordering::Relaxed);
    shared.emit(WorkerLine::Stopped { processed: Some(processed) });
    Ok(processed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_partitions_no_longer_held_are_not_committed() {
        let pending = BTreeMap::from([(0, 120), (1, 80), (2, 40)]);
        let assigned = std::collections::BTreeSet::from([0, 2]);
        assert_eq!(only_held(pending, &assigned), vec![(0, 120), (2, 40)]);
    }

    #[test]
    fn lines_have_a_stable_shape() {
        let line = WorkerLine::Processed { producer: 1, seq: 2, partition: 0, offset: 7 };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"type":"processed","producer":1,"seq":2,"partition":0,"offset":7}"#
        );
        let commit = WorkerLine::Commit { partition: 2, offset: 8, error: None };
        assert_eq!(serde_json::to_string(&commit).unwrap(), r#"{"type":"commit","partition":2,"offset":8}"#);
        let parsed: WorkerLine =
            serde_json::from_str(r#"{"type":"rebalance","kind":"assign","partitions":[0,1]}"#).unwrap();
        assert_eq!(parsed, WorkerLine::Rebalance { kind: "assign".into(), partitions: vec![0, 1] });
    }

    #[test]
    fn config_defaults_fill_in_from_json() {
        let json = r#"{"id":1,"run_id":"r","bootstrap_servers":"b","topic":"t","group_id":"g","commit":"manual-sync"}"#;
        let config: ConsumerConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.commit_every, 1);
        assert_eq!(config.processing_buffer, 0);
        assert_eq!(config, ConsumerConfig::new(1, "r", "b", "t", "g", CommitMode::ManualSync));
    }

    #[test]
    fn the_commit_mode_overrides_its_properties() {
        let mut config = ConsumerConfig::new(1, "r", "b", "t", "g", CommitMode::ManualSync);
        config.properties.insert("enable.auto.commit".into(), "true".into());
        config.properties.insert("session.timeout.ms".into(), "10000".into());
        let client = config.client_config();
        assert_eq!(client.get("enable.auto.commit"), Some("false"));
        assert_eq!(client.get("session.timeout.ms"), Some("10000"));
        assert_eq!(client.get("auto.offset.reset"), Some("earliest"));
    }
}
