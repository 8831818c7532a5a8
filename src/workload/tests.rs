//! The clients against librdkafka's mock cluster: fast, no Docker. The mock keeps one log per
//! partition and ignores acks, so these check client code, never a loss verdict.

use super::consumer::{run_worker, LineSink, WorkerLine};
use super::*;
use crate::history::{LogEvent, PersistStatus, SendEvent, SendOutcome, WorkerEvent};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RUN: &str = "unit";

fn mock(partitions: i32) -> (MockCluster<'static, rdkafka::producer::DefaultProducerContext>, String) {
    let cluster = MockCluster::new(3).expect("mock cluster");
    cluster.create_topic("t", partitions, 1).expect("mock topic");
    let bootstrap = cluster.bootstrap_servers();
    (cluster, bootstrap)
}

fn producer_config(bootstrap: &str, partitions: i32, messages: u64) -> ProducerConfig {
    let mut config = ProducerConfig::new(1, RUN, bootstrap, "t", partitions);
    config.rate = 0;
    config.max_messages = Some(messages);
    config.duration = Duration::from_secs(30);
    config.payload_bytes = 100;
    config
}

fn drain(rx: &mut EventReceiver) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e.event);
    }
    events
}

/// (seq, outcome, status, error, offset) of one Send event.
type SendSummary = (u64, SendOutcome, Option<PersistStatus>, Option<String>, Option<i64>);

fn sends(events: &[Event]) -> Vec<SendSummary> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Send(SendEvent { seq, outcome, status, error, offset, .. }) => {
                Some((*seq, *outcome, *status, error.clone(), *offset))
            }
            _ => None,
        })
        .collect()
}

async fn produce(bootstrap: &str, partitions: i32, messages: u64) -> Vec<Event> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut producer = ProducerHandle::start(producer_config(bootstrap, partitions, messages), tx).unwrap();
    producer.wait().await;
    drain(&mut rx)
}

#[tokio::test]
async fn every_message_gets_one_acked_event_with_dense_seqs() {
    let (_cluster, bootstrap) = mock(3);
    let events = produce(&bootstrap, 3, 1000).await;
    let sends = sends(&events);
    assert_eq!(sends.len(), 1000);
    let seqs: BTreeSet<u64> = sends.iter().map(|s| s.0).collect();
    assert_eq!(seqs, (0..1000).collect());
    for (seq, outcome, status, error, offset) in &sends {
        assert_eq!(*outcome, SendOutcome::Acked, "seq {seq}: {error:?}");
        assert_eq!(*status, Some(PersistStatus::Persisted));
        assert!(offset.is_some());
    }
    let partitions: BTreeSet<i32> =
        events.iter().filter_map(|e| if let Event::Send(SendEvent { partition, .. }) = e { *partition } else { None }).collect();
    assert_eq!(partitions, BTreeSet::from([0, 1, 2]), "round-robin reaches every partition");
}

/// acks=0: success reports without an offset (librdkafka gives -1001), possibly persisted.
#[tokio::test]
async fn acks_0_reports_success_without_an_offset() {
    let (_cluster, bootstrap) = mock(1);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = producer_config(&bootstrap, 1, 200).property("acks", "0");
    ProducerHandle::start(config, tx).unwrap().wait().await;
    let sends = sends(&drain(&mut rx));
    assert_eq!(sends.len(), 200);
    for (seq, outcome, status, _, offset) in &sends {
        assert_eq!(
            (*outcome, *status, *offset),
            (SendOutcome::Acked, Some(PersistStatus::PossiblyPersisted), None),
            "seq {seq}"
        );
    }
}

#[tokio::test]
async fn rate_paces_the_producer() {
    let (_cluster, bootstrap) = mock(1);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut config = producer_config(&bootstrap, 1, 1_000_000);
    config.rate = 200;
    config.duration = Duration::from_millis(1000);
    let started = std::time::Instant::now();
    let mut producer = ProducerHandle::start(config, tx).unwrap();
    producer.wait().await;
    let n = sends(&drain(&mut rx)).len();
    // Pacing caps the rate: never more than 200 in a second (plus the 100 ms a late producer may
    // catch up). How many fewer a slow machine sends is not the point, so the floor is low.
    assert!((20..=220).contains(&n), "{n} messages at 200/s for 1 s");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(producer.progress().snapshot(), (n as u64, n as u64, 0, 0));
}

#[tokio::test]
async fn a_rejected_batch_fails_and_a_lost_connection_is_unknown() {
    let (cluster, bootstrap) = mock(1);
    // Non-retriable broker rejection: the broker answered, nothing was appended.
    cluster.request_errors(RDKafkaApiKey::Produce, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD; 50]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = producer_config(&bootstrap, 1, 5).property("linger.ms", "0").property("max.in.flight", "1");
    let mut producer = ProducerHandle::start(config, tx).unwrap();
    producer.wait().await;
    let rejected = sends(&drain(&mut rx));
    assert_eq!(rejected.len(), 5);
    for (seq, outcome, status, error, _) in &rejected {
        assert_eq!(
            (*outcome, *status),
            (SendOutcome::Failed, Some(PersistStatus::NotPersisted)),
            "seq {seq}: {error:?}"
        );
        assert!(error.as_deref().unwrap().starts_with("InvalidRecord"), "{error:?}");
    }

    // A request sent and never answered (the broker dropped the connection): it may have been
    // written. No retries, so the first answer is the last.
    cluster.clear_request_errors(RDKafkaApiKey::Produce);
    cluster.request_errors(RDKafkaApiKey::Produce, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR__TRANSPORT; 50]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = producer_config(&bootstrap, 1, 5)
        .property("linger.ms", "0")
        .property("retries", "0")
        .property("max.in.flight", "1");
    let mut producer = ProducerHandle::start(config, tx).unwrap();
    producer.wait().await;
    let lost = sends(&drain(&mut rx));
    assert_eq!(lost.len(), 5);
    for (seq, outcome, status, error, _) in &lost {
        assert_eq!(*outcome, SendOutcome::Unknown, "seq {seq}: {status:?} {error:?}");
        assert_eq!(*status, Some(PersistStatus::PossiblyPersisted), "seq {seq}: {error:?}");
    }
}

/// Wait until `condition` holds; a minute is far beyond what any machine needs.
async fn until(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "condition not met within 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn undelivered_messages_are_purged_at_the_end_and_kill_restart_continues_the_seqs() {
    let (cluster, bootstrap) = mock(1);
    // Every broker down: nothing can be delivered, reports only come from the purge.
    for b in 1..=3 {
        cluster.broker_down(b).unwrap();
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut config = producer_config(&bootstrap, 1, 10);
    config.flush_timeout = Some(Duration::from_millis(300));
    let mut producer = ProducerHandle::start(config, tx).unwrap();
    producer.wait().await;
    let ended = sends(&drain(&mut rx));
    assert_eq!(ended.len(), 10);
    // Purged at the end: librdkafka says "not persisted", but a purge is never a definite
    // failure (classify rule 1): a message queued again for a retry is purged the same way.
    assert!(ended.iter().all(|s| s.1 == SendOutcome::Unknown && s.2 == Some(PersistStatus::NotPersisted)), "{ended:?}");
    assert!(ended.iter().all(|s| s.3.as_deref().unwrap().contains("purged")), "{ended:?}");

    for b in 1..=3 {
        cluster.broker_up(b).unwrap();
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut config = producer_config(&bootstrap, 1, 1_000_000);
    config.rate = 500;
    let mut producer = ProducerHandle::start(config, tx).unwrap();
    // By what it has sent, not by how long: a slow machine sends less per second.
    until(|| producer.next_seq() > 50).await;
    producer.kill().await;
    let first = producer.next_seq();
    producer.restart().unwrap();
    until(|| producer.next_seq() > first + 50).await;
    producer.stop().await;
    let events = drain(&mut rx);
    let sends = sends(&events);
    let seqs: Vec<u64> = {
        let mut v: Vec<u64> = sends.iter().map(|s| s.0).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(seqs, (0..producer.next_seq()).collect::<Vec<_>>(), "one outcome per seq, no gap, across the restart");
    let states: Vec<&str> = events
        .iter()
        .filter_map(|e| if let Event::Worker(WorkerEvent { state, .. }) = e { Some(state.as_str()) } else { None })
        .collect();
    assert_eq!(states, ["killed", "restarted"]);
}

#[test]
fn an_invalid_property_fails_at_start_with_its_name() {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let config = producer_config("127.0.0.1:1", 1, 1).property("acks", "sometimes");
    let err = ProducerHandle::start(config, tx).err().expect("an error").to_string();
    assert!(err.contains("\"acks\"") && err.contains("sometimes"), "{err}");
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut config = producer_config("127.0.0.1:1", 2, 1);
    config.routing = KeyRouting::Partition(2);
    let err = ProducerHandle::start(config, tx).err().expect("an error").to_string();
    assert!(err.contains("partition:2"), "{err}");
}

/// When a test's worker has done enough, judged from its lines so far.
type Done = Box<dyn Fn(&[WorkerLine]) -> bool + Send + Sync>;

/// Collects a worker's lines in memory; stops the worker once `done` holds for them.
struct Collect {
    lines: Mutex<Vec<WorkerLine>>,
    done: Done,
    stop: Arc<AtomicBool>,
}

impl LineSink for Collect {
    fn emit(&self, line: &WorkerLine) -> bool {
        let mut lines = self.lines.lock().unwrap();
        lines.push(line.clone());
        if (self.done)(&lines) {
            self.stop.store(true, Ordering::SeqCst);
        }
        true
    }

    fn closed(&self) -> bool {
        false
    }
}

fn processed_count(lines: &[WorkerLine]) -> usize {
    lines.iter().filter(|l| matches!(l, WorkerLine::Processed { .. })).count()
}

/// Runs a worker until `done` holds for its lines (or 30 s pass); returns its lines and
/// whether `done` stopped it.
fn consume_until(
    config: ConsumerConfig,
    done: impl Fn(&[WorkerLine]) -> bool + Send + Sync + 'static,
) -> (Vec<WorkerLine>, bool) {
    let stop = Arc::new(AtomicBool::new(false));
    let sink = Arc::new(Collect { lines: Mutex::new(vec![]), done: Box::new(done), stop: stop.clone() });
    let timed_out = Arc::new(AtomicBool::new(false));
    let (guard, flag) = (stop.clone(), timed_out.clone());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        flag.store(true, Ordering::SeqCst);
        guard.store(true, Ordering::SeqCst);
    });
    run_worker(config, sink.clone(), stop).unwrap();
    let lines = sink.lines.lock().unwrap().clone();
    (lines, !timed_out.load(Ordering::SeqCst))
}

fn consume(bootstrap: &str, mode: CommitMode, buffer: usize, target: usize) -> Vec<WorkerLine> {
    let mut config = ConsumerConfig::new(1, RUN, bootstrap, "t", &format!("g-{mode}-{buffer}"), mode);
    config.processing_buffer = buffer;
    config.commit_every = 7;
    config.properties.insert("auto.commit.interval.ms".into(), "100".into());
    consume_until(config, move |lines| processed_count(lines) >= target).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commit_mode_processes_all_and_reports_its_commits() {
    let (_cluster, bootstrap) = mock(2);
    assert_eq!(sends(&produce(&bootstrap, 2, 100).await).len(), 100);
    // One group per run, all at once: a group join takes the mock ~3 s.
    let runs: Vec<(CommitMode, usize)> = CommitMode::ALL.iter().flat_map(|m| [(*m, 0), (*m, 5)]).collect();
    let workers = runs.iter().map(|&(mode, buffer)| {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || consume(&b, mode, buffer, 100))
    });
    let results = futures::future::join_all(workers).await;
    for (&(mode, buffer), lines) in runs.iter().zip(results) {
        let lines = lines.unwrap();
        let processed: BTreeSet<u64> = lines
            .iter()
            .filter_map(|l| if let WorkerLine::Processed { seq, .. } = l { Some(*seq) } else { None })
            .collect();
        assert_eq!(processed, (0..100).collect(), "{mode} buffer {buffer}");
        assert!(matches!(lines.first(), Some(WorkerLine::Ready { .. })), "{mode}: {:?}", lines.first());
        assert!(matches!(lines.last(), Some(WorkerLine::Stopped { processed: Some(100) })), "{mode}: {:?}", lines.last());
        assert!(lines.iter().any(|l| matches!(l, WorkerLine::Rebalance { kind, .. } if kind == "assign")));
        // Every mode commits, and the last commit of each partition is its end (50 each).
        let mut last = std::collections::BTreeMap::new();
        for l in &lines {
            if let WorkerLine::Commit { partition, offset, error } = l {
                assert_eq!(error, &None, "{mode}");
                last.insert(*partition, *offset);
            }
        }
        assert_eq!(last, std::collections::BTreeMap::from([(0, 50), (1, 50)]), "{mode} buffer {buffer}");
        let lag = lag(&bootstrap, None, &format!("g-{mode}-{buffer}"), "t", Duration::from_secs(10)).await.unwrap();
        assert_eq!(lag.total, 0, "{mode} buffer {buffer}: {lag:?}");
    }
}

/// Committing every 1000 records, 100 records: only the commit on idle can commit the tail
/// before the worker stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_commit_modes_commit_the_tail_when_idle() {
    let (_cluster, bootstrap) = mock(2);
    assert_eq!(sends(&produce(&bootstrap, 2, 100).await).len(), 100);
    let modes = [CommitMode::ManualSync, CommitMode::ManualAsync, CommitMode::BeforeProcess];
    let workers = modes.iter().map(|&mode| {
        let mut config = ConsumerConfig::new(1, RUN, &bootstrap, "t", &format!("idle-{mode}"), mode);
        config.commit_every = 1000;
        config.processing_buffer = 5;
        tokio::task::spawn_blocking(move || {
            consume_until(config, |lines| {
                let ends = lines.iter().filter(|l| matches!(l, WorkerLine::Commit { offset: 50, error: None, .. }));
                processed_count(lines) == 100 && ends.count() >= 2
            })
        })
    });
    let results = futures::future::join_all(workers).await;
    for (mode, result) in modes.iter().zip(results) {
        let (lines, by_commits) = result.unwrap();
        assert!(by_commits, "{mode}: the tail was not committed before the stop: {:?}", &lines[lines.len().saturating_sub(5)..]);
    }
}

/// A commit that fails keeps its offsets: the next commit (here the idle one) sends them again,
/// so a group behind a coordinator failover still commits its tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_keeps_its_offsets_for_the_next_one() {
    let (cluster, bootstrap) = mock(2);
    assert_eq!(sends(&produce(&bootstrap, 2, 100).await).len(), 100);
    cluster.request_errors(
        RDKafkaApiKey::OffsetCommit,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE; 3],
    );
    let mut config = ConsumerConfig::new(1, RUN, &bootstrap, "t", "failed-commits", CommitMode::ManualSync);
    config.commit_every = 1000;
    let (lines, done) = tokio::task::spawn_blocking(move || {
        consume_until(config, |lines| {
            let ends = lines.iter().filter(|l| matches!(l, WorkerLine::Commit { offset: 50, error: None, .. }));
            processed_count(lines) == 100 && ends.count() >= 2
        })
    })
    .await
    .unwrap();
    let failed = lines.iter().filter(|l| matches!(l, WorkerLine::Commit { error: Some(_), .. })).count();
    assert!(failed >= 1, "no commit failed, so nothing was tested: {lines:?}");
    assert!(done, "the offsets of the failed commits were never committed: {:?}", &lines[lines.len().saturating_sub(6)..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_reader_sees_every_record_and_counts_strangers() {
    let (_cluster, bootstrap) = mock(3);
    assert_eq!(sends(&produce(&bootstrap, 3, 300).await).len(), 300);
    // 20 records of another run on the same topic.
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut other = producer_config(&bootstrap, 3, 20);
    other.run_id = "other".into();
    ProducerHandle::start(other, tx).unwrap().wait().await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let summary = read_log(LogReaderConfig::new(RUN, &bootstrap, "t"), tx).await.unwrap();
    assert!(summary.complete(), "{summary:?}");
    assert_eq!((summary.records, summary.ours, summary.other_run, summary.foreign), (320, 300, 20, 0));
    let logged: BTreeSet<u64> =
        drain(&mut rx).iter().filter_map(|e| if let Event::Log(LogEvent { seq, .. }) = e { Some(*seq) } else { None }).collect();
    assert_eq!(logged, (0..300).collect());
    // The reader moved no group's offsets: a group that never consumed lags by everything.
    let lag = lag(&bootstrap, None, "nobody", "t", Duration::from_secs(10)).await.unwrap();
    assert_eq!(lag.total, 320);
    assert!(lag.partitions.iter().all(|p| p.committed.is_none()));
}

/// A graceful stop commits exactly what was processed, in every mode: records fetched but not
/// handed to the worker are neither processed nor committed (not even by `auto`'s final commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_commits_exactly_what_was_processed() {
    let (_cluster, bootstrap) = mock(2);
    assert_eq!(sends(&produce(&bootstrap, 2, 100).await).len(), 100);
    let runs: Vec<(CommitMode, usize)> = CommitMode::ALL.iter().flat_map(|m| [(*m, 0), (*m, 5)]).collect();
    let workers = runs.iter().map(|&(mode, buffer)| {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || consume(&b, mode, buffer, 10))
    });
    let results = futures::future::join_all(workers).await;
    for (&(mode, buffer), lines) in runs.iter().zip(results) {
        let processed = lines.unwrap().iter().filter(|l| matches!(l, WorkerLine::Processed { .. })).count() as i64;
        assert!((10..=16).contains(&processed), "{mode} buffer {buffer}: {processed}");
        let lag = lag(&bootstrap, None, &format!("g-{mode}-{buffer}"), "t", Duration::from_secs(10)).await.unwrap();
        assert_eq!(lag.total, 100 - processed, "{mode} buffer {buffer}: {lag:?}");
    }
}
