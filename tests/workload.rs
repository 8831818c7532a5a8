//! The clients against a real cluster in Docker: a sequenced producer, consumer worker processes
//! killed with SIGKILL and restarted, and the final reader of the log. One cluster per test; run
//! one at a time (`--test-threads=1`): two clusters do not fit two cores.
//!
//! The worker process's life cycle (kill, restart, stop, stdout closed, drop) is checked against
//! librdkafka's mock cluster, without Docker.

mod common;

use common::{labelled_containers, require_docker, BIN};
use kafka_chaos::cluster::{with_cluster, Cluster, ClusterSpec};
use kafka_chaos::scenario::ClientKind;
use kafka_chaos::history::{CommitEvent, Event, LogEvent, ProcessedEvent, RebalanceEvent, SendEvent, SendOutcome, WorkerEvent};
use kafka_chaos::workload::{
    lag, read_log, CommitMode, EventReceiver, LogReaderConfig, LogSummary, ProducerConfig, ProducerHandle, Role,
    WorkerConfig, WorkerLauncher, WorkerProcess,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const TOPIC: &str = "workload";
const MESSAGES: u64 = 2000;

/// What a test saw, kept up to date as events arrive.
#[derive(Default)]
struct Tally {
    events: Vec<Event>,
    /// How often each (producer, seq) was reported processed.
    processed: BTreeMap<(u32, u64), usize>,
    processed_total: usize,
    commits: usize,
    processed_at_last_commit: usize,
}

impl Tally {
    fn add(&mut self, event: Event) {
        match &event {
            Event::Processed(ProcessedEvent { producer, seq, .. }) => {
                *self.processed.entry((*producer, *seq)).or_default() += 1;
                self.processed_total += 1;
            }
            Event::Commit(CommitEvent { error: None, committing: false, .. }) => {
                self.commits += 1;
                self.processed_at_last_commit = self.processed_total;
            }
            _ => {}
        }
        self.events.push(event);
    }

    fn drain(&mut self, rx: &mut EventReceiver) {
        while let Ok(e) = rx.try_recv() {
            self.add(e.event);
        }
    }

    /// Take events until `done` holds; Err after `timeout`.
    async fn until(
        &mut self,
        rx: &mut EventReceiver,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Tally) -> bool,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => self.add(e.event),
                Ok(None) => return Err(format!("the event channel closed before {what}")),
                Err(_) => return Err(format!("no {what} after {} s", timeout.as_secs())),
            }
        }
        Ok(())
    }

    fn sends(&self, outcome: SendOutcome) -> usize {
        self.events.iter().filter(|e| matches!(e, Event::Send(SendEvent { outcome: o, .. }) if *o == outcome)).count()
    }

    fn logged(&self) -> BTreeSet<(u32, u64)> {
        self.events
            .iter()
            .filter_map(|e| if let Event::Log(LogEvent { producer, seq, .. }) = e { Some((*producer, *seq)) } else { None })
            .collect()
    }

    fn workers(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Worker(WorkerEvent { role, id, state, .. }) if role == "consumer" => Some(format!("{id}:{state}")),
                _ => None,
            })
            .collect()
    }
}

fn spec() -> ClusterSpec {
    let mut spec = ClusterSpec::new(3);
    if let Ok(image) = std::env::var("KAFKA_CHAOS_IMAGE") {
        spec.image = Some(image);
    }
    spec
}

fn producer_config(run: &str, bootstrap: &str) -> ProducerConfig {
    let mut config =
        ProducerConfig::new(1, run, bootstrap, TOPIC, 3).property("acks", "all").property("enable.idempotence", "true");
    config.rate = 4000;
    config.max_messages = Some(MESSAGES);
    config.duration = Duration::from_secs(60);
    config.payload_bytes = 200;
    config
}

fn consumer_config(run: &str, bootstrap: &str, commit: CommitMode) -> WorkerConfig {
    let mut config = WorkerConfig::new(Role::Consumer, 1, run, bootstrap, TOPIC);
    config.group_id = format!("group-{run}");
    config.commit = commit;
    config
}

/// An rdkafka worker (`kafka-chaos worker`) with `config`.
fn spawn(config: WorkerConfig, events: &kafka_chaos::workload::EventSender) -> kafka_chaos::error::Result<WorkerProcess> {
    WorkerProcess::spawn(config, ClientKind::Rdkafka, WorkerLauncher::new(BIN), events.clone())
}

/// Produce every message with acks=all and idempotence; all must be acked.
async fn produce_all(
    run: &str,
    bootstrap: &str,
    tally: &mut Tally,
    rx: &mut EventReceiver,
    tx: &kafka_chaos::workload::EventSender,
) -> kafka_chaos::error::Result<()> {
    let mut producer = ProducerHandle::start(producer_config(run, bootstrap), tx.clone())?;
    producer.wait().await;
    tally.drain(rx);
    Ok(())
}

async fn wait_caught_up(bootstrap: &str, group: &str, timeout: Duration) -> kafka_chaos::error::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let lag = lag(bootstrap, None, group, TOPIC, Duration::from_secs(10)).await?;
        if lag.total == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(kafka_chaos::error::Error::Violated(format!(
                "group {group} still lags by {} after {} s",
                lag.total,
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

struct Outcome {
    run_id: String,
    tally: Tally,
    log: LogSummary,
    pids: Vec<u32>,
}

fn finish(result: kafka_chaos::error::Result<Outcome>) -> Outcome {
    let outcome = result.unwrap_or_else(|e| panic!("the run failed: {e}"));
    assert_eq!(labelled_containers(Some(&outcome.run_id)), 0, "containers left behind");
    for pid in &outcome.pids {
        assert!(!alive(*pid), "worker process {pid} outlived its test");
    }
    let log = &outcome.log;
    assert!(log.complete(), "the log reader did not finish: {:?}", log.unfinished());
    outcome
}

/// acks=all with idempotence, a manual-sync worker without faults: every message acked, in the
/// log exactly once, and processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_are_all_in_the_log_and_all_processed() {
    require_docker();
    let started = Instant::now();
    let result = with_cluster(&spec(), |cluster| async move {
        let bootstrap = cluster.bootstrap_servers();
        cluster.topology.create_topic(TOPIC, 3, 3, &BTreeMap::new()).await?;
        let run = "wl-clean";
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tally = Tally::default();
        let mut worker = WorkerProcess::spawn(
            consumer_config(run, &bootstrap, CommitMode::ManualSync),
            ClientKind::Rdkafka,
            WorkerLauncher::new(BIN),
            tx.clone(),
        )?;
        let pid = worker.pid().unwrap();
        worker.wait_joined(Duration::from_secs(60)).await?;
        produce_all(run, &bootstrap, &mut tally, &mut rx, &tx).await?;
        tally
            .until(&mut rx, Duration::from_secs(60), "2000 records processed", |t| t.processed.len() as u64 >= MESSAGES)
            .await
            .map_err(kafka_chaos::error::Error::Violated)?;
        worker.stop(Duration::from_secs(20)).await?;
        wait_caught_up(&bootstrap, &format!("group-{run}"), Duration::from_secs(10)).await?;
        let log = read_log(LogReaderConfig::new(run, &bootstrap, TOPIC), tx.clone()).await?;
        tally.drain(&mut rx);
        Ok(Outcome { run_id: cluster.run_id.clone(), tally, log, pids: vec![pid] })
    })
    .await;
    let Outcome { tally, log, .. } = finish(result);
    println!(
        "acked {} failed {} unknown {}; log {} records ({} ours); processed {} distinct, {} in all; took {:?}",
        tally.sends(SendOutcome::Acked),
        tally.sends(SendOutcome::Failed),
        tally.sends(SendOutcome::Unknown),
        log.records,
        log.ours,
        tally.processed.len(),
        tally.processed_total,
        started.elapsed()
    );
    assert_eq!(tally.sends(SendOutcome::Acked), MESSAGES as usize);
    assert_eq!((log.records, log.ours), (MESSAGES, MESSAGES), "idempotence: each message once");
    let all: BTreeSet<(u32, u64)> = (0..MESSAGES).map(|s| (1, s)).collect();
    assert_eq!(tally.logged(), all);
    assert_eq!(tally.processed.keys().copied().collect::<BTreeSet<_>>(), all);
    assert_eq!(tally.workers(), ["1:started", "1:ready", "1:stopped"]);
}

/// before-process with a processing buffer: records committed on receipt and still in the buffer
/// when the worker is SIGKILLed are never processed, by it or by its restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_before_processing_loses_the_buffer_on_a_crash() {
    require_docker();
    let started = Instant::now();
    let result = with_cluster(&spec(), |cluster| async move {
        let bootstrap = cluster.bootstrap_servers();
        cluster.topology.create_topic(TOPIC, 3, 3, &BTreeMap::new()).await?;
        let run = "wl-before";
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tally = Tally::default();
        produce_all(run, &bootstrap, &mut tally, &mut rx, &tx).await?;
        let mut config = consumer_config(run, &bootstrap, CommitMode::BeforeProcess);
        config.processing_buffer = 100;
        config.processing_ms = 5.0;
        let mut worker = spawn(config, &tx)?;
        let first = worker.pid().unwrap();
        // Each record is committed on receipt: commits minus processed is what the buffer holds.
        // Crash once it holds at least 20, as read with the worker frozen: its exact state.
        let held = loop {
            tally
                .until(&mut rx, Duration::from_secs(60), "a full buffer", |t| {
                    t.processed_total >= 100 && t.commits >= t.processed_total + 20
                })
                .await
                .map_err(kafka_chaos::error::Error::Violated)?;
            if worker.freeze().await? && worker.state().committed_not_processed() >= 20 {
                break worker.state().committed_not_processed();
            }
            worker.thaw().await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        worker.kill().await?;
        tally.drain(&mut rx);
        worker.restart()?;
        let second = worker.pid().unwrap();
        wait_caught_up(&bootstrap, &format!("group-{run}"), Duration::from_secs(60)).await?;
        worker.stop(Duration::from_secs(30)).await?;
        let log = read_log(LogReaderConfig::new(run, &bootstrap, TOPIC), tx.clone()).await?;
        tally.drain(&mut rx);
        println!("the buffer held at least {held} committed, unprocessed records at the SIGKILL");
        Ok(Outcome { run_id: cluster.run_id.clone(), tally, log, pids: vec![first, second] })
    })
    .await;
    let Outcome { tally, log, .. } = finish(result);
    let logged = tally.logged();
    let unconsumed: Vec<&(u32, u64)> = logged.iter().filter(|id| !tally.processed.contains_key(id)).collect();
    let duplicates = tally.processed.values().filter(|n| **n > 1).count();
    println!(
        "log {} ours; processed {} distinct, {} in all; unconsumed {}; processed twice or more {}; took {:?}",
        log.ours,
        tally.processed.len(),
        tally.processed_total,
        unconsumed.len(),
        duplicates,
        started.elapsed()
    );
    assert_eq!(logged.len() as u64, MESSAGES);
    assert!(unconsumed.len() >= 20, "a crash holding at least 20 records committed before processing must lose them");
    assert_eq!(tally.workers(), ["1:started", "1:ready", "1:killed", "1:started", "1:ready", "1:stopped"]);
}

/// manual-sync, committing every 20 records: a SIGKILL between processing and committing makes
/// the restart process those records again; nothing is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_after_processing_redelivers_after_a_crash() {
    require_docker();
    let started = Instant::now();
    let result = with_cluster(&spec(), |cluster| async move {
        let bootstrap = cluster.bootstrap_servers();
        cluster.topology.create_topic(TOPIC, 3, 3, &BTreeMap::new()).await?;
        let run = "wl-after";
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tally = Tally::default();
        produce_all(run, &bootstrap, &mut tally, &mut rx, &tx).await?;
        let mut config = consumer_config(run, &bootstrap, CommitMode::ManualSync);
        config.processing_ms = 5.0;
        config.commit_every = 20;
        let mut worker = spawn(config, &tx)?;
        let first = worker.pid().unwrap();
        // Crash with at least 5 records processed and neither committed nor being committed, as
        // read with the worker frozen: the SIGKILL lands before their commit, on any machine.
        let uncommitted = loop {
            tally
                .until(&mut rx, Duration::from_secs(60), "processed, uncommitted records", |t| {
                    let uncommitted = t.processed_total - t.processed_at_last_commit;
                    t.commits > 0 && t.processed_total >= 200 && (5..=15).contains(&uncommitted)
                })
                .await
                .map_err(kafka_chaos::error::Error::Violated)?;
            if worker.freeze().await? && worker.state().processed_not_committed() >= 5 {
                break worker.state().processed_not_committed();
            }
            worker.thaw().await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        worker.kill().await?;
        tally.drain(&mut rx);
        let at_kill = tally.processed_total;
        worker.restart()?;
        let second = worker.pid().unwrap();
        tally
            .until(&mut rx, Duration::from_secs(60), "every record processed", |t| t.processed.len() as u64 >= MESSAGES)
            .await
            .map_err(kafka_chaos::error::Error::Violated)?;
        worker.stop(Duration::from_secs(30)).await?;
        wait_caught_up(&bootstrap, &format!("group-{run}"), Duration::from_secs(10)).await?;
        let log = read_log(LogReaderConfig::new(run, &bootstrap, TOPIC), tx.clone()).await?;
        tally.drain(&mut rx);
        println!("processed {at_kill} before the SIGKILL, at least {uncommitted} of them after the last commit");
        Ok(Outcome { run_id: cluster.run_id.clone(), tally, log, pids: vec![first, second] })
    })
    .await;
    let Outcome { tally, log, .. } = finish(result);
    let logged = tally.logged();
    let unconsumed = logged.iter().filter(|id| !tally.processed.contains_key(id)).count();
    let duplicates = tally.processed.values().filter(|n| **n > 1).count();
    println!(
        "log {} ours; processed {} distinct, {} in all; unconsumed {}; processed twice or more {}; took {:?}",
        log.ours,
        tally.processed.len(),
        tally.processed_total,
        unconsumed,
        duplicates,
        started.elapsed()
    );
    assert_eq!(logged.len() as u64, MESSAGES);
    assert_eq!(unconsumed, 0, "commit after processing never skips a record");
    assert!(duplicates >= 5, "a crash with at least 5 processed, uncommitted records must redeliver them");
    assert_eq!(tally.workers(), ["1:started", "1:ready", "1:killed", "1:started", "1:ready", "1:stopped"]);
}

fn mock_cluster() -> (rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>, String) {
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("a mock cluster");
    cluster.create_topic(TOPIC, 3, 1).expect("a mock topic");
    let bootstrap = cluster.bootstrap_servers();
    (cluster, bootstrap)
}

/// kill -> `killed`, restart -> a new process of the same id, stop -> `stopped` (exit 0), drop of
/// the handle -> the process is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_is_killed_restarted_stopped_and_never_left_behind() {
    let (_cluster, bootstrap) = mock_cluster();
    let run = "wl-life";
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tally = Tally::default();
    let mut producer = producer_config(run, &bootstrap);
    producer.max_messages = Some(300);
    ProducerHandle::start(producer, tx.clone()).unwrap().wait().await;
    let mut config = consumer_config(run, &bootstrap, CommitMode::ManualSync);
    config.processing_ms = 2.0;
    let mut worker = spawn(config.clone(), &tx).unwrap();
    let first = worker.pid().unwrap();
    tally.until(&mut rx, Duration::from_secs(30), "50 processed", |t| t.processed_total >= 50).await.unwrap();
    worker.kill().await.unwrap();
    assert!(!worker.is_alive() && !alive(first));
    worker.restart().unwrap();
    let second = worker.pid().unwrap();
    assert_ne!(first, second);
    tally.until(&mut rx, Duration::from_secs(60), "300 processed", |t| t.processed.len() >= 300).await.unwrap();
    worker.stop(Duration::from_secs(20)).await.unwrap();
    assert!(!alive(second));
    tally.drain(&mut rx);
    assert_eq!(tally.workers(), ["1:started", "1:ready", "1:killed", "1:started", "1:ready", "1:stopped"]);
    assert!(tally.events.iter().any(|e| matches!(e, Event::Rebalance(RebalanceEvent { kind, .. }) if kind == "revoke")));

    let dropped = spawn(config, &tx).unwrap();
    let third = dropped.pid().unwrap();
    drop(dropped);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(third) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(third), "a dropped handle must kill its worker");
}

/// The runner is gone when the worker's stdout closes: the worker stops by itself, exit 0.
#[test]
fn a_worker_stops_when_its_stdout_closes() {
    use std::io::{BufRead, BufReader};
    let (_cluster, bootstrap) = mock_cluster();
    use std::io::Write;
    let config = serde_json::to_string(&consumer_config("wl-pipe", &bootstrap, CommitMode::Auto)).unwrap();
    let mut child = std::process::Command::new(BIN)
        .arg("worker")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The config line, and stdin kept open: only stdout closes.
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{config}").unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with(r#"{"type":"ready""#), "{first}");
    // The reader was dropped with the BufReader: stdout is now closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the worker kept running with its stdout closed");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    drop(stdin);
}

/// A config that is not valid JSON is a usage error (exit 2), not a crash.
#[test]
fn a_worker_with_a_bad_config_exits_2() {
    use std::io::Write;
    let mut child = std::process::Command::new(BIN)
        .arg("worker")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a worker config"), "{}", String::from_utf8_lossy(&out.stderr));
}

const ORPHAN_ENV: &str = "KAFKA_CHAOS_TEST_ORPHAN_BOOTSTRAP";

/// A runner SIGKILLed with a worker running must not leave the worker behind (PR_SET_PDEATHSIG).
/// The "runner" is this test binary again, running `runner_for_the_orphan_test`.
#[test]
fn a_worker_dies_with_a_killed_runner() {
    use std::io::{BufRead, BufReader};
    let (_cluster, bootstrap) = mock_cluster();
    let mut runner = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "runner_for_the_orphan_test", "--ignored", "--nocapture", "--test-threads=1"])
        .env(ORPHAN_ENV, &bootstrap)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut worker_pid = None;
    for line in BufReader::new(runner.stdout.take().unwrap()).lines() {
        // libtest may print "test <name> ... " on the same line first.
        if let Some((_, pid)) = line.unwrap().split_once("WORKER_PID=") {
            worker_pid = Some(pid.trim().parse::<u32>().unwrap());
            break;
        }
    }
    let worker_pid = worker_pid.expect("the runner started a worker");
    assert!(alive(worker_pid));
    runner.kill().unwrap();
    runner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(worker_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(worker_pid), "worker {worker_pid} outlived its SIGKILLed runner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_worker_dies_with_a_killed_runner"]
async fn runner_for_the_orphan_test() {
    let Ok(bootstrap) = std::env::var(ORPHAN_ENV) else { return };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let config = consumer_config("wl-orphan", &bootstrap, CommitMode::Auto);
    let mut worker = spawn(config, &tx).unwrap();
    worker.wait_ready(Duration::from_secs(10)).await.unwrap();
    println!("WORKER_PID={}", worker.pid().unwrap());
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// The producer under faults: the leader of partition 0 SIGKILLed mid-run (acks=all with
/// idempotence: every acked message is in the log, once), and a `producer:1` kill with a
/// restart that continues the seqs: one outcome per seq, none lost if acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_survive_a_leader_kill_and_a_producer_restart() {
    require_docker();
    let started = Instant::now();
    let result = with_cluster(&spec(), |cluster| async move {
        let bootstrap = cluster.bootstrap_servers();
        cluster.topology.create_topic(TOPIC, 3, 3, &BTreeMap::new()).await?;
        let run = "wl-faults";
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tally = Tally::default();
        let mut config = producer_config(run, &bootstrap);
        config.rate = 1000;
        config.max_messages = None;
        config.duration = Duration::from_secs(12);
        let config = config.property("delivery.timeout.ms", "20000").property("request.timeout.ms", "5000");
        let mut producer = ProducerHandle::start(config, tx.clone())?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let leader = cluster.topology.partition(TOPIC, 0).await?.leader.expect("partition 0 has a leader");
        cluster.kill(leader).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        producer.kill().await;
        let killed_at = producer.next_seq();
        producer.restart()?;
        cluster.restart(leader).await?;
        producer.wait().await;
        let log = read_log(LogReaderConfig::new(run, &bootstrap, TOPIC), tx.clone()).await?;
        tally.drain(&mut rx);
        println!("killed broker {leader}; producer killed at seq {killed_at}, ended at {}", producer.next_seq());
        Ok(Outcome { run_id: cluster.run_id.clone(), tally, log, pids: vec![] })
    })
    .await;
    let Outcome { tally, log, .. } = finish(result);
    let mut outcomes: BTreeMap<u64, SendOutcome> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut max_latency: f64 = 0.0;
    for e in &tally.events {
        if let Event::Send(SendEvent { seq, outcome, error, latency_ms, .. }) = e {
            assert!(outcomes.insert(*seq, *outcome).is_none(), "seq {seq} has two outcomes");
            if let Some(error) = error {
                *errors.entry(error.clone()).or_default() += 1;
            }
            max_latency = max_latency.max(latency_ms.unwrap_or(0.0));
        }
    }
    let sent = outcomes.len() as u64;
    assert_eq!(outcomes.keys().copied().collect::<Vec<_>>(), (0..sent).collect::<Vec<_>>(), "dense seqs");
    let logged = tally.logged();
    let mut copies: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    for e in &tally.events {
        if let Event::Log(LogEvent { producer, seq, .. }) = e {
            *copies.entry((*producer, *seq)).or_default() += 1;
        }
    }
    let acked_lost = outcomes.iter().filter(|(s, o)| **o == SendOutcome::Acked && !logged.contains(&(1, **s))).count();
    let failed_in_log =
        outcomes.iter().filter(|(s, o)| **o == SendOutcome::Failed && logged.contains(&(1, **s))).count();
    let unknown_in_log =
        outcomes.iter().filter(|(s, o)| **o == SendOutcome::Unknown && logged.contains(&(1, **s))).count();
    println!(
        "sent {sent}: acked {} failed {} unknown {}; log {} records, {} duplicated; acked but lost {acked_lost}; \
         failed yet in the log {failed_in_log}; unknown and in the log {unknown_in_log}; max latency {max_latency} ms; took {:?}",
        tally.sends(SendOutcome::Acked),
        tally.sends(SendOutcome::Failed),
        tally.sends(SendOutcome::Unknown),
        log.records,
        copies.values().filter(|n| **n > 1).count(),
        started.elapsed()
    );
    for (error, n) in &errors {
        println!("  {n} x {error}");
    }
    assert_eq!(acked_lost, 0, "acks=all lost an acked message");
    assert_eq!(failed_in_log, 0, "a message reported not persisted is in the log");
    assert_eq!(copies.values().filter(|n| **n > 1).count(), 0, "idempotence wrote a duplicate");
}
