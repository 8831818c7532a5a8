//! A sequenced producer: one thread per producer id sends messages 0, 1, 2, ... at a set rate and
//! turns every delivery report into exactly one `Send` event (acked, failed or unknown).
//!
//! A `BaseProducer` polled by our own thread, not a `FutureProducer`: the delivery callback needs
//! the raw message to ask librdkafka for its persistence status, and runs on this thread, so the
//! bookkeeping needs no cross-thread hand-off. Each message's seq is its delivery opaque; a map of
//! seq -> send time is the set of messages without a report, which makes "exactly one outcome per
//! seq" a matter of removing from that map.
//!
//! A producer is never dropped unflushed (dropping purges): it stops by flushing with a bounded
//! timeout, purging what is left (whose reports then arrive as errors and are classified), and
//! recording whatever still has no report as `unknown`.

use super::classify::{classify, persist_status};
use super::protocol::TransactionConfig;
use super::record::{self, Encoder};
use super::transaction::{after_commit_error, AfterCommitError, TxnErrorKind, ABORTED_ON_PURPOSE};
pub use super::transaction::TxnEnd;
use super::{client_config, creation_error, emit, EventSender, KeyRouting};
use crate::error::{Error, Result};
use crate::history::{Event, PersistStatus, SendEvent, SendOutcome, TxnOutcome, WorkerEvent};
use std::sync::atomic::AtomicBool;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig};
use rdkafka::ClientContext;
use rdkafka::Message;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// librdkafka's own delivery timeout (`message.timeout.ms`) when the properties set none: a
/// message in flight at the end is given this long to resolve before it is purged.
const CLIENT_DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(300);
/// Beyond the delivery timeout, for the last reports to arrive.
const FLUSH_MARGIN: Duration = Duration::from_secs(5);
/// After a purge, reports of purged messages arrive on the next polls; wait this long for them.
const PURGE_REPORT_WAIT: Duration = Duration::from_secs(2);
/// A paced producer that fell behind (queue full, in-flight cap) catches up by at most this much.
const MAX_CATCH_UP: Duration = Duration::from_millis(100);
/// How long a transactional call (init, commit, abort) may take before it counts as timed out.
const TXN_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// After a commit or an abort, the last delivery reports of its messages arrive on the next polls.
const TXN_REPORT_WAIT: Duration = Duration::from_secs(10);

pub const NO_REPORT_AT_END: &str = "no delivery report by the end of the run";
pub const NO_REPORT_KILLED: &str = "no delivery report before the producer was killed";
/// The harness's word for a seq a worker left without an outcome when it exited by itself (a
/// worker that breaks the protocol's graceful stop, or crashes).
pub const NO_REPORT_EXITED: &str = "the worker exited without reporting it";

/// The one outcome of one message, as the producer reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub seq: u64,
    pub outcome: SendOutcome,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub status: Option<PersistStatus>,
    /// From the send call to the report.
    pub latency_ms: Option<f64>,
    /// The client's error, and the classifier's rule for it.
    pub error: Option<String>,
    pub why: Option<String>,
}

/// Where a producer says what it does: the worker's stdout (protocol lines) or, in-process, the
/// runner's event channel.
pub trait ProducerSink: Send + Sync {
    /// The client exists and sending begins.
    fn ready(&self) {}
    /// Message `seq` is about to be handed to the client.
    fn sending(&self, seq: u64, partition: Option<i32>);
    fn outcome(&self, report: Report);
    /// Transactional: a transaction began at `first_seq`.
    fn txn_begin(&self, _first_seq: u64) {}
    /// Transactional: its commit or abort returned; every report of its messages came before.
    fn txn_end(&self, _end: TxnEnd) {}
}

/// In-process: each outcome becomes a `Send` event; `sending` is not recorded.
pub struct EventSink {
    pub producer: u32,
    pub events: EventSender,
}

impl ProducerSink for EventSink {
    fn sending(&self, _: u64, _: Option<i32>) {}

    fn outcome(&self, r: Report) {
        emit(&self.events, Event::Send(send_event(self.producer, r)));
    }
}

/// The history's record of a report: the error and the rule joined, as `error; why`.
pub fn send_event(producer: u32, r: Report) -> SendEvent {
    let error = match (r.error, r.why) {
        (Some(e), Some(w)) => Some(format!("{e}; {w}")),
        (e, w) => e.or(w),
    };
    SendEvent {
        time_ms: 0.0,
        producer,
        seq: r.seq,
        outcome: r.outcome,
        partition: r.partition,
        offset: r.offset,
        status: r.status,
        latency_ms: r.latency_ms,
        error,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProducerConfig {
    pub id: u32,
    /// Written into every message (see `record`); letters, digits, '-', '_', '.'.
    pub run_id: String,
    pub bootstrap_servers: String,
    pub topic: String,
    /// Partitions of the topic (for round-robin routing and checking `partition:N`).
    pub partitions: i32,
    /// Messages per second for this producer; 0 = as fast as the in-flight cap allows.
    pub rate: u64,
    pub payload_bytes: usize,
    /// round-robin: partition `(seq + producer id) % partitions`, set explicitly; hash: no
    /// partition, librdkafka's partitioner hashes the key `<producer>-<seq>`; partition:N.
    pub routing: KeyRouting,
    /// How long to send, from the first start (a restart continues towards the same end).
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    /// Stop after this many messages (seqs 0..n), if reached before `duration`.
    pub max_messages: Option<u64>,
    /// The first seq to send (a restarted worker continues where the last one stopped).
    #[serde(default)]
    pub first_seq: u64,
    /// Messages sent but without a delivery report, at most; bounds memory at rate 0 or during
    /// an outage. Sending waits (polling) when reached.
    pub max_in_flight: usize,
    /// How long the final flush may take; default: the client's delivery timeout
    /// (`delivery.timeout.ms` / `message.timeout.ms`, librdkafka's 300 s if unset) plus 5 s, so
    /// every message in flight gets the chance to resolve before anything is purged.
    #[serde(default, with = "opt_duration_ms")]
    pub flush_timeout: Option<Duration>,
    /// librdkafka producer properties by their own names (acks, enable.idempotence, ...).
    pub properties: BTreeMap<String, String>,
    /// Transactional (worker processes only); None: plain sends.
    #[serde(default)]
    pub transaction: Option<TransactionConfig>,
}

/// A producer's delivery timeout as its `properties` set it, or librdkafka's default (longer
/// than kafka-clients' and than sarama's bound on its own attempts).
pub fn delivery_timeout(properties: &BTreeMap<String, String>) -> Duration {
    ["delivery.timeout.ms", "message.timeout.ms"]
        .iter()
        .find_map(|k| properties.get(*k).and_then(|v| v.parse::<u64>().ok()))
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .unwrap_or(CLIENT_DEFAULT_DELIVERY_TIMEOUT)
}

impl ProducerConfig {
    pub fn new(id: u32, run_id: &str, bootstrap_servers: &str, topic: &str, partitions: i32) -> ProducerConfig {
        ProducerConfig {
            id,
            run_id: run_id.to_string(),
            bootstrap_servers: bootstrap_servers.to_string(),
            topic: topic.to_string(),
            partitions,
            rate: 1000,
            payload_bytes: 256,
            routing: KeyRouting::RoundRobin,
            duration: Duration::from_secs(30),
            max_messages: None,
            first_seq: 0,
            max_in_flight: 10_000,
            flush_timeout: None,
            properties: BTreeMap::new(),
            transaction: None,
        }
    }

    pub fn property(mut self, name: &str, value: &str) -> ProducerConfig {
        self.properties.insert(name.to_string(), value.to_string());
        self
    }

    /// The client's own delivery timeout, as set in `properties` or librdkafka's default.
    pub fn delivery_timeout(&self) -> Duration {
        delivery_timeout(&self.properties)
    }

    fn effective_flush_timeout(&self) -> Duration {
        self.flush_timeout.unwrap_or_else(|| self.delivery_timeout() + FLUSH_MARGIN)
    }

    fn validate(&self) -> Result<()> {
        record::validate_run_id(&self.run_id)?;
        let who = format!("producer {}", self.id);
        if self.partitions < 1 {
            return Err(Error::Invalid(format!("{who}: the topic needs at least one partition")));
        }
        if let KeyRouting::Partition(p) = self.routing {
            if i64::from(p) >= i64::from(self.partitions) {
                return Err(Error::Invalid(format!(
                    "{who}: key routing partition:{p} but the topic has {} partitions (0..{})",
                    self.partitions,
                    self.partitions - 1
                )));
            }
        }
        if self.max_in_flight == 0 {
            return Err(Error::Invalid(format!("{who}: max_in_flight must be at least 1")));
        }
        Ok(())
    }

    fn partition_of(&self, seq: u64) -> Option<i32> {
        match self.routing {
            KeyRouting::RoundRobin => Some(((seq + u64::from(self.id)) % self.partitions as u64) as i32),
            KeyRouting::Hash => None,
            KeyRouting::Partition(p) => Some(p as i32),
        }
    }
}

/// Counts for a progress bar and for fault conditions; shared by every instance of one
/// producer id.
#[derive(Debug, Default)]
pub struct ProducerProgress {
    /// Seqs used: messages handed to librdkafka (plus any it refused at once, counted failed).
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub failed: AtomicU64,
    pub unknown: AtomicU64,
    /// Acks per partition (index = partition), for "N writes acked" conditions.
    acked_by_partition: Box<[AtomicU64]>,
}

impl ProducerProgress {
    pub fn new(partitions: i32) -> ProducerProgress {
        ProducerProgress {
            acked_by_partition: (0..partitions.max(0)).map(|_| AtomicU64::new(0)).collect(),
            ..ProducerProgress::default()
        }
    }

    /// Acks of writes to `partition` so far.
    pub fn acked_on(&self, partition: u32) -> u64 {
        self.acked_by_partition.get(partition as usize).map_or(0, |a| a.load(Ordering::Relaxed))
    }

    fn count_ack(&self, partition: Option<i32>) {
        if let Some(counter) = partition.and_then(|p| self.acked_by_partition.get(usize::try_from(p).ok()?)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (sent, acked, failed, unknown)
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.acked.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.unknown.load(Ordering::Relaxed),
        )
    }

    /// Count one outcome (and an ack's partition).
    pub fn record(&self, outcome: SendOutcome, partition: Option<i32>) {
        self.count(outcome);
        if outcome == SendOutcome::Acked {
            self.count_ack(partition);
        }
    }

    fn count(&self, outcome: SendOutcome) {
        let counter = match outcome {
            SendOutcome::Acked => &self.acked,
            SendOutcome::Failed => &self.failed,
            SendOutcome::Unknown => &self.unknown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

const RUN: u8 = 0;
const STOP: u8 = 1;
const KILL: u8 = 2;

/// What survives a kill: the next seq, the end of sending, the counters.
struct Shared {
    next_seq: AtomicU64,
    deadline: Instant,
    progress: Arc<ProducerProgress>,
}

/// One running producer instance (a thread).
struct Session {
    control: Arc<AtomicU8>,
    done: tokio::sync::oneshot::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

/// The runner's handle on one producer id. `start` begins sending at once.
pub struct ProducerHandle {
    config: Arc<ProducerConfig>,
    events: EventSender,
    shared: Arc<Shared>,
    session: Option<Session>,
}

impl ProducerHandle {
    /// Validate the configuration, create the client (an invalid property is an error naming
    /// it) and start sending on a new thread.
    pub fn start(config: ProducerConfig, events: EventSender) -> Result<ProducerHandle> {
        config.validate()?;
        let shared = Arc::new(Shared {
            next_seq: AtomicU64::new(config.first_seq),
            deadline: Instant::now() + config.duration,
            progress: Arc::new(ProducerProgress::new(config.partitions)),
        });
        let mut handle = ProducerHandle { config: Arc::new(config), events, shared, session: None };
        handle.spawn()?;
        Ok(handle)
    }

    pub fn id(&self) -> u32 {
        self.config.id
    }

    pub fn progress(&self) -> Arc<ProducerProgress> {
        self.shared.progress.clone()
    }

    /// The seq the next message will carry (= messages sent so far by this producer id).
    pub fn next_seq(&self) -> u64 {
        self.shared.next_seq.load(Ordering::SeqCst)
    }

    /// True while an instance is sending or flushing.
    pub fn is_running(&self) -> bool {
        self.session.as_ref().is_some_and(|s| !s.thread.is_finished())
    }

    /// Wait until the instance finishes by itself (duration over or max_messages sent, then
    /// flushed and every message accounted for).
    pub async fn wait(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = session.done.await;
            let _ = session.thread.join();
        }
    }

    /// Stop sending now, flush (bounded), account for every message, then return.
    pub async fn stop(&mut self) {
        if let Some(s) = &self.session {
            s.control.store(STOP, Ordering::SeqCst);
        }
        self.wait().await;
    }

    /// A `producer:N` fault: stop sending at once, purge queued and in-flight messages (each is
    /// then `unknown`: the client cannot vouch for any of them), record the rest as unknown.
    /// `restart` continues with the next seq.
    pub async fn kill(&mut self) {
        if let Some(s) = &self.session {
            s.control.store(KILL, Ordering::SeqCst);
        }
        let was_running = self.session.is_some();
        self.wait().await;
        if was_running {
            emit(&self.events, worker_event(self.config.id, "killed"));
        }
    }

    /// A new producer instance with the same id, from the next seq, towards the same end.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            return Err(Error::Invalid(format!(
                "producer {} is still running; kill or stop it before a restart",
                self.config.id
            )));
        }
        self.session = None;
        self.spawn()?;
        emit(&self.events, worker_event(self.config.id, "restarted"));
        Ok(())
    }

    fn spawn(&mut self) -> Result<()> {
        let who = format!("producer {}", self.config.id);
        let sink = Arc::new(EventSink { producer: self.config.id, events: self.events.clone() });
        let context = DeliveryContext::new(sink, self.shared.progress.clone());
        let client_id = format!("kafka-chaos-producer-{}", self.config.id);
        let harness =
            [("bootstrap.servers", self.config.bootstrap_servers.as_str()), ("client.id", client_id.as_str())];
        let producer: BaseProducer<DeliveryContext> = client_config(&harness, &self.config.properties)
            .create_with_context(context)
            .map_err(|e| creation_error(&who, e))?;
        let encoder = Encoder::new(&self.config.run_id, self.config.id, self.config.payload_bytes)?;
        let control = Arc::new(AtomicU8::new(RUN));
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let sender = Sender {
            producer,
            encoder,
            config: self.config.clone(),
            shared: self.shared.clone(),
            control: control.clone(),
            open_txn: None,
        };
        let thread = std::thread::Builder::new()
            .name(format!("producer-{}", self.config.id))
            .spawn(move || {
                sender.run();
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::io(format!("cannot start a thread for {who}"), e))?;
        self.session = Some(Session { control, done, thread });
        Ok(())
    }
}

/// The body of a producer worker process (`kafka-chaos worker`, role producer): send on this
/// thread until the duration is over, `max_messages` are sent or `stop` is set (SIGTERM, stdin
/// closed), account for every message on `sink`, and return how many seqs were used.
pub fn run_producer_worker(config: ProducerConfig, sink: Arc<dyn ProducerSink>, stop: Arc<AtomicBool>) -> Result<u64> {
    config.validate()?;
    let who = format!("producer {}", config.id);
    let progress = Arc::new(ProducerProgress::new(config.partitions));
    let producer = make_producer(&config, sink.clone(), progress.clone())?;
    let encoder = Encoder::new(&config.run_id, config.id, config.payload_bytes)?;
    sink.ready();
    let shared = Arc::new(Shared {
        next_seq: AtomicU64::new(config.first_seq),
        deadline: Instant::now() + config.duration,
        progress,
    });
    let control = Arc::new(AtomicU8::new(RUN));
    // A signal or a closed stdin stops the producer gracefully.
    let watched = control.clone();
    std::thread::Builder::new()
        .name("stop-watch".into())
        .spawn(move || loop {
            if stop.load(Ordering::SeqCst) {
                let _ = watched.compare_exchange(RUN, STOP, Ordering::SeqCst, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        })
        .map_err(|e| Error::io(format!("cannot start a thread for {who}"), e))?;
    let sender = Sender { producer, encoder, config: Arc::new(config), shared: shared.clone(), control, open_txn: None };
    sender.run();
    Ok(shared.next_seq.load(Ordering::SeqCst))
}

/// The worker's librdkafka producer; a transactional one has its transactions initialised (which
/// fences any earlier process with the same `transactional.id`).
fn make_producer(
    config: &ProducerConfig,
    sink: Arc<dyn ProducerSink>,
    progress: Arc<ProducerProgress>,
) -> Result<BaseProducer<DeliveryContext>> {
    let who = format!("producer {}", config.id);
    let context = DeliveryContext::new(sink, progress);
    let client_id = format!("kafka-chaos-producer-{}", config.id);
    let mut harness = vec![("bootstrap.servers", config.bootstrap_servers.clone()), ("client.id", client_id)];
    if let Some(t) = &config.transaction {
        harness.push(("transactional.id", t.id.clone()));
        harness.push(("transaction.timeout.ms", t.timeout_ms.to_string()));
    }
    let harness: Vec<(&str, &str)> = harness.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let producer: BaseProducer<DeliveryContext> =
        client_config(&harness, &config.properties).create_with_context(context).map_err(|e| creation_error(&who, e))?;
    if config.transaction.is_some() {
        producer
            .init_transactions(TXN_CALL_TIMEOUT)
            .map_err(|e| Error::infra(format!("{who}: cannot initialise transactions: {e}")))?;
    }
    Ok(producer)
}

impl Drop for ProducerHandle {
    /// The thread still flushes and accounts for every message; nobody waits for it.
    fn drop(&mut self) {
        if let Some(s) = &self.session {
            let _ = s.control.compare_exchange(RUN, STOP, Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

fn worker_event(id: u32, state: &str) -> Event {
    Event::Worker(WorkerEvent { time_ms: 0.0, role: "producer".into(), id, state: state.into() })
}

/// The thread body of one producer instance.
struct Sender {
    producer: BaseProducer<DeliveryContext>,
    encoder: Encoder,
    config: Arc<ProducerConfig>,
    shared: Arc<Shared>,
    control: Arc<AtomicU8>,
    /// Transactional: the first seq of the transaction open now.
    open_txn: Option<u64>,
}

impl Sender {
    fn run(mut self) {
        let interval = (self.config.rate > 0).then(|| Duration::from_secs_f64(1.0 / self.config.rate as f64));
        let mut next_due = Instant::now();
        loop {
            if self.control.load(Ordering::SeqCst) != RUN {
                break;
            }
            let now = Instant::now();
            if now >= self.shared.deadline {
                break;
            }
            let seq = self.shared.next_seq.load(Ordering::SeqCst);
            if self.config.max_messages.is_some_and(|max| seq >= self.config.first_seq + max) {
                break;
            }
            if interval.is_some() && now < next_due {
                self.producer.poll((next_due - now).min(Duration::from_millis(50)));
                continue;
            }
            if self.producer.context().in_flight() >= self.config.max_in_flight {
                self.producer.poll(Duration::from_millis(5));
                continue;
            }
            if self.config.transaction.is_some() && self.open_txn.is_none() && !self.begin_txn(seq) {
                break;
            }
            if !self.send(seq) {
                break;
            }
            self.shared.next_seq.store(seq + 1, Ordering::SeqCst);
            if let (Some(t), Some(first)) = (&self.config.transaction, self.open_txn) {
                if seq + 1 - first >= u64::from(t.messages.max(1)) && !self.end_txn(first, seq) {
                    break;
                }
            }
            if let Some(interval) = interval {
                next_due += interval;
                if next_due + MAX_CATCH_UP < Instant::now() {
                    next_due = Instant::now();
                }
            }
            // Serve delivery reports as they come, so latencies are measured when they arrive.
            self.producer.poll(Duration::ZERO);
        }
        let killed = self.control.load(Ordering::SeqCst) == KILL;
        self.finish(killed);
    }

    /// Hand message `seq` to librdkafka, waiting out a full queue. False if the producer was told
    /// to stop before the message could be enqueued: it was never sent and its seq stays unused.
    fn send(&mut self, seq: u64) -> bool {
        let id = self.config.id;
        let partition = self.config.partition_of(seq);
        let context = self.producer.context().clone();
        let (key, value) = self.encoder.encode(id, seq);
        let mut record = BaseRecord::with_opaque_to(&self.config.topic, seq as usize).key(key).payload(value);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        context.begin(seq, partition);
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    self.shared.progress.sent.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    if self.control.load(Ordering::SeqCst) != RUN {
                        context.forget(seq);
                        return false;
                    }
                    record = returned;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => {
                    // Refused before enqueueing (too large, unknown partition): never sent.
                    let error = e.rdkafka_error_code().map(|c| c.to_string()).unwrap_or_else(|| e.to_string());
                    context.report(
                        seq,
                        SendOutcome::Failed,
                        Some(PersistStatus::NotPersisted),
                        None,
                        None,
                        Some(error),
                        Some("refused before enqueueing".into()),
                    );
                    self.shared.progress.sent.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
            }
        }
    }

    /// Begins the transaction whose first message is `seq`. False if the producer cannot.
    fn begin_txn(&mut self, seq: u64) -> bool {
        if let Err(e) = self.producer.begin_transaction() {
            tracing::error!("producer {}: cannot begin a transaction: {e}", self.config.id);
            return false;
        }
        self.open_txn = Some(seq);
        self.producer.context().sink.txn_begin(seq);
        true
    }

    /// Commits (or, on purpose, aborts) the open transaction `first..=last`, waits for the
    /// reports of its messages, and says how it ended. False if the producer had to be replaced
    /// and no new one could be made.
    fn end_txn(&mut self, first: u64, last: u64) -> bool {
        self.open_txn = None;
        let Some(t) = self.config.transaction.clone() else { return true };
        let (outcome, error, why) = if t.aborts_on_purpose(first) {
            // Written first, so the log holds what is then aborted (what a read_uncommitted
            // reader shows); librdkafka also wants every report served before an abort.
            let _ = self.producer.flush(TXN_CALL_TIMEOUT);
            match self.producer.abort_transaction(TXN_CALL_TIMEOUT) {
                Ok(()) => (TxnOutcome::Aborted, None, ABORTED_ON_PURPOSE.to_string()),
                Err(e) => (TxnOutcome::Unknown, Some(e.to_string()), "the abort failed".to_string()),
            }
        } else {
            self.commit()
        };
        let context = self.producer.context().clone();
        let deadline = Instant::now() + TXN_REPORT_WAIT;
        while context.in_flight() > 0 && Instant::now() < deadline {
            self.producer.poll(Duration::from_millis(20));
        }
        context.close("no delivery report by the end of its transaction");
        let replace = outcome == TxnOutcome::Unknown;
        let end = TxnEnd { first_seq: first, last_seq: last, outcome, error, why: Some(why) };
        context.sink.txn_end(end);
        if !replace {
            return true;
        }
        // Fenced or stuck: a new producer with the same transactional.id fences this one.
        self.producer.purge(PurgeConfig::default().queue().inflight());
        match make_producer(&self.config, context.sink.clone(), self.shared.progress.clone()) {
            Ok(producer) => {
                self.producer = producer;
                true
            }
            Err(e) => {
                tracing::error!("producer {}: cannot replace the producer: {e}", self.config.id);
                false
            }
        }
    }

    /// Commits the open transaction by the rules of `transaction::after_commit_error`.
    fn commit(&mut self) -> (TxnOutcome, Option<String>, String) {
        let mut retries = 0;
        loop {
            let error = match self.producer.commit_transaction(TXN_CALL_TIMEOUT) {
                Ok(()) => return (TxnOutcome::Committed, None, "the commit returned".to_string()),
                Err(e) => e,
            };
            let kind = match &error {
                KafkaError::Transaction(e) => {
                    TxnErrorKind { fatal: e.is_fatal(), retriable: e.is_retriable(), requires_abort: e.txn_requires_abort() }
                }
                _ => TxnErrorKind::default(),
            };
            match after_commit_error(kind, retries) {
                AfterCommitError::Retry => retries += 1,
                AfterCommitError::Abort => {
                    // Reports of what is left must be served before an abort.
                    self.producer.purge(PurgeConfig::default().queue().inflight());
                    let _ = self.producer.flush(TXN_REPORT_WAIT);
                    return match self.producer.abort_transaction(TXN_CALL_TIMEOUT) {
                        Ok(()) => (TxnOutcome::Aborted, Some(error.to_string()), "the commit failed, so it was aborted".into()),
                        Err(e) => (TxnOutcome::Unknown, Some(format!("{error}; then the abort: {e}")), "the abort failed".into()),
                    }
                }
                AfterCommitError::Unknown(why) => return (TxnOutcome::Unknown, Some(error.to_string()), why.to_string()),
            }
        }
    }

    fn finish(mut self, killed: bool) {
        if let Some(first) = self.open_txn.filter(|_| !killed && self.control.load(Ordering::SeqCst) != KILL) {
            // A graceful stop commits what the open transaction holds.
            let last = self.shared.next_seq.load(Ordering::SeqCst).saturating_sub(1);
            if last >= first {
                self.end_txn(first, last);
            } else {
                let _ = self.producer.abort_transaction(TXN_CALL_TIMEOUT);
            }
        }
        let context = self.producer.context().clone();
        if !killed {
            let deadline = Instant::now() + self.config.effective_flush_timeout();
            while context.in_flight() > 0 && Instant::now() < deadline {
                if self.control.load(Ordering::SeqCst) == KILL {
                    break;
                }
                // flush (not just poll) so batches held by linger.ms go out at once.
                let _ = self.producer.flush(Duration::from_millis(100));
            }
        }
        if context.in_flight() > 0 {
            self.producer.purge(PurgeConfig::default().queue().inflight());
            let deadline = Instant::now() + PURGE_REPORT_WAIT;
            while context.in_flight() > 0 && Instant::now() < deadline {
                self.producer.poll(Duration::from_millis(50));
            }
        }
        let killed = killed || self.control.load(Ordering::SeqCst) == KILL;
        context.close(if killed { NO_REPORT_KILLED } else { NO_REPORT_AT_END });
        // Dropping purges and flushes again: nothing is left, and late reports are ignored
        // because their seqs are no longer outstanding.
        drop(self.producer);
    }
}

/// Turns delivery reports into reports on the sink, one per seq. Shared by the sending thread
/// and the callback (which runs on the same thread, inside `poll`/`flush`).
pub(crate) struct DeliveryContext {
    /// seq -> when it was handed to librdkafka: the messages without an outcome yet.
    outstanding: Mutex<HashMap<u64, Instant>>,
    sink: Arc<dyn ProducerSink>,
    progress: Arc<ProducerProgress>,
}

impl DeliveryContext {
    pub(crate) fn new(sink: Arc<dyn ProducerSink>, progress: Arc<ProducerProgress>) -> DeliveryContext {
        DeliveryContext { outstanding: Mutex::new(HashMap::new()), sink, progress }
    }

    fn begin(&self, seq: u64, partition: Option<i32>) {
        self.sink.sending(seq, partition);
        self.outstanding.lock().unwrap().insert(seq, Instant::now());
    }

    fn forget(&self, seq: u64) {
        self.outstanding.lock().unwrap().remove(&seq);
    }

    fn in_flight(&self) -> usize {
        self.outstanding.lock().unwrap().len()
    }

    /// Record the one outcome of `seq`, if it has none yet.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        seq: u64,
        outcome: SendOutcome,
        status: Option<PersistStatus>,
        partition: Option<i32>,
        offset: Option<i64>,
        error: Option<String>,
        why: Option<String>,
    ) {
        let Some(sent_at) = self.outstanding.lock().unwrap().remove(&seq) else {
            return;
        };
        let latency_ms = (outcome != SendOutcome::Unknown || status.is_some())
            .then(|| (sent_at.elapsed().as_secs_f64() * 10_000.0).round() / 10.0);
        self.progress.record(outcome, partition);
        self.sink.outcome(Report { seq, outcome, partition, offset, status, latency_ms, error, why });
    }

    /// Every message still without a report becomes `unknown`, in seq order.
    fn close(&self, reason: &str) {
        let mut left: Vec<u64> = self.outstanding.lock().unwrap().keys().copied().collect();
        left.sort_unstable();
        for seq in left {
            self.report(seq, SendOutcome::Unknown, None, None, None, None, Some(reason.to_string()));
        }
    }
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let seq = seq as u64;
        match result {
            Ok(msg) => {
                // acks=0 reports success with an invalid offset (-1001): record none then.
                let offset = (msg.offset() >= 0).then_some(msg.offset());
                let partition = (msg.partition() >= 0).then_some(msg.partition());
                self.report(seq, SendOutcome::Acked, Some(persist_status(msg)), partition, offset, None, None);
            }
            Err((err, msg)) => {
                let status = persist_status(msg);
                let c = classify(err, Some(status));
                let partition = (msg.partition() >= 0).then_some(msg.partition());
                self.report(seq, c.outcome, Some(status), partition, None, Some(c.error), Some(c.why.to_string()));
            }
        }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod opt_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
