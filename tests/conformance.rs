//! Every worker (docs/worker-protocol.md) against one real cluster: rdkafka (`kafka-chaos worker`),
//! sarama (`workers/sarama/sarama-worker`) and java (`workers/java/target/kafka-chaos-worker.jar`).
//! Each must: refuse an invalid config with exit 2; give every seq it sends exactly one outcome,
//! densely from `first_seq`, and stop gracefully with none left open; process every record it was
//! sent, once, at the offset its producer was told; and, SIGKILLed mid-run, leave nothing invented:
//! every ack it reported is in the log at its offset, and the seqs it had in flight become unknown.
//!
//! Failures of all three workers are collected and reported together. Needs Docker and the
//! workers built (`make workers`); without either it fails with a hint.

mod common;

use common::{labelled_containers, require_docker, BIN};
use kafka_chaos::cluster::{with_cluster, Cluster, ClusterSpec};
use kafka_chaos::history::{Event, LogEvent, ProcessedEvent, SendEvent, SendOutcome, WorkerEvent};
use kafka_chaos::scenario::ClientKind;
use kafka_chaos::workload::{
    read_log, CommitMode, EventReceiver, EventSender, LogReaderConfig, Role, WorkerConfig, WorkerLauncher,
    WorkerProcess,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;
const MESSAGES: u64 = 1200;

fn spec() -> ClusterSpec {
    let mut spec = ClusterSpec::new(3);
    if let Ok(image) = std::env::var("KAFKA_CHAOS_IMAGE") {
        spec.image = Some(image);
    }
    spec
}

fn launcher() -> WorkerLauncher {
    WorkerLauncher::new(BIN)
}

/// Events of one worker's life, as the runner would record them.
#[derive(Default)]
struct Seen {
    events: Vec<Event>,
}

impl Seen {
    fn drain(&mut self, rx: &mut EventReceiver) {
        while let Ok(e) = rx.try_recv() {
            self.events.push(e.event);
        }
    }

    async fn until(&mut self, rx: &mut EventReceiver, timeout: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => self.events.push(e.event),
                _ => return false,
            }
        }
        true
    }

    fn sends(&self) -> Vec<&SendEvent> {
        self.events.iter().filter_map(|e| if let Event::Send(s) = e { Some(s) } else { None }).collect()
    }

    fn processed(&self) -> Vec<&ProcessedEvent> {
        self.events.iter().filter_map(|e| if let Event::Processed(p) = e { Some(p) } else { None }).collect()
    }

    fn states(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| if let Event::Worker(WorkerEvent { state, .. }) = e { Some(state.clone()) } else { None })
            .collect()
    }

    /// Notes the runner writes when a worker breaks the protocol.
    fn protocol_notes(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Note(n) => Some(n.text.clone()),
                _ => None,
            })
            .filter(|t| t.contains("not a worker event") || t.contains("second outcome") || t.contains("exited unexpectedly"))
            .collect()
    }
}

/// Seqs must be dense from 0, each with exactly one outcome.
fn check_dense(sends: &[&SendEvent], what: &str, failures: &mut Vec<String>) {
    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    for s in sends {
        *count.entry(s.seq).or_default() += 1;
    }
    let n = count.len() as u64;
    if let Some((seq, k)) = count.iter().find(|(_, k)| **k != 1) {
        failures.push(format!("{what}: seq {seq} has {k} outcomes"));
    }
    if count.keys().next_back().is_some_and(|last| *last + 1 != n) {
        failures.push(format!("{what}: seqs are not dense from 0 ({n} seqs, the last {:?})", count.keys().next_back()));
    }
}

fn producer_config(run: &str, bootstrap: &str, topic: &str) -> WorkerConfig {
    let mut config = WorkerConfig::new(Role::Producer, 0, run, bootstrap, topic);
    config.partitions = PARTITIONS;
    config.rate = 800;
    config.payload_bytes = 128;
    config.duration_ms = 60_000;
    config.acks = Some("all".into());
    config.idempotence = Some(true);
    config
}

fn spawn(config: WorkerConfig, client: ClientKind, tx: &EventSender) -> kafka_chaos::error::Result<WorkerProcess> {
    WorkerProcess::spawn(config, client, launcher(), tx.clone())
}

/// Exit code of `client`'s worker given `config` as its first stdin line.
fn exit_code(client: ClientKind, config: &str) -> Option<i32> {
    let (program, args) = launcher().command(client).expect("built");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the worker starts");
    child.stdin.take().unwrap().write_all(format!("{config}\n").as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One client through the whole protocol; returns what it broke.
async fn conform(client: ClientKind, bootstrap: &str, cluster: &kafka_chaos::cluster::ContainerCluster) -> kafka_chaos::error::Result<Vec<String>> {
    let mut failures = Vec::new();
    let run = format!("conf-{client}");
    let topic = format!("conformance-{client}");
    cluster.topology.create_topic(&topic, PARTITIONS, 3, &BTreeMap::new()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();

    // 1. A graceful producer: MESSAGES seqs, each acked once, then `stopped`.
    let mut config = producer_config(&run, bootstrap, &topic);
    config.max_messages = Some(MESSAGES);
    let mut producer = spawn(config, client, &tx)?;
    producer.wait_exit().await;
    let mut graceful = Seen::default();
    graceful.drain(&mut rx);
    let sends = graceful.sends();
    check_dense(&sends, "graceful producer", &mut failures);
    let acked = sends.iter().filter(|s| s.outcome == SendOutcome::Acked).count() as u64;
    if acked != MESSAGES {
        failures.push(format!("graceful producer: {acked} of {MESSAGES} acked on a healthy cluster"));
    }
    if sends.iter().any(|s| s.outcome == SendOutcome::Acked && (s.partition.is_none() || s.offset.is_none())) {
        failures.push("graceful producer: an acked outcome without partition and offset".into());
    }
    if graceful.states().last().map(String::as_str) != Some("stopped") {
        failures.push(format!("graceful producer: ended {:?}, not stopped with exit 0", graceful.states()));
    }
    failures.extend(graceful.protocol_notes().into_iter().map(|n| format!("graceful producer: {n}")));
    let left_open = sends
        .iter()
        .filter(|s| s.error.as_deref().is_some_and(|e| e.contains(kafka_chaos::workload::NO_REPORT_EXITED)))
        .count();
    if left_open > 0 {
        failures.push(format!("graceful producer: {left_open} seqs left without an outcome at its stop"));
    }
    let acked_at: BTreeMap<u64, (i32, i64)> = sends
        .iter()
        .filter_map(|s| Some((s.seq, (s.partition?, s.offset?))))
        .collect();

    // 2. A consumer (commit after processing): every record processed once, where it was acked.
    let mut config = WorkerConfig::new(Role::Consumer, 0, &run, bootstrap, &topic);
    config.group_id = format!("{run}-group");
    config.commit = CommitMode::ManualSync;
    // The harness's default. (With a synchronous commit after every record, sarama 1.61.1's
    // consumer stalls for good after about 200 records here: a lock in its coordinator
    // connection is never released. Left for a test of its own.)
    config.commit_every = 100;
    let mut consumer = spawn(config, client, &tx)?;
    let mut consuming = Seen::default();
    let all = consuming
        .until(&mut rx, Duration::from_secs(90), |s| s.processed().len() as u64 >= MESSAGES)
        .await;
    consumer.stop(Duration::from_secs(30)).await?;
    consuming.drain(&mut rx);
    let processed = consuming.processed();
    if !all {
        failures.push(format!("consumer: {} of {MESSAGES} processed within 90 s", processed.len()));
    }
    let distinct: BTreeSet<u64> = processed.iter().map(|p| p.seq).collect();
    if distinct.len() != processed.len() {
        failures.push(format!("consumer: {} records processed more than once without a fault", processed.len() - distinct.len()));
    }
    for p in &processed {
        if acked_at.get(&p.seq) != Some(&(p.partition, p.offset)) {
            failures.push(format!(
                "consumer: processed seq {} at {}:{}, but it was acked at {:?}",
                p.seq, p.partition, p.offset, acked_at.get(&p.seq)
            ));
            break;
        }
    }
    if consuming.states().last().map(String::as_str) != Some("stopped") {
        failures.push(format!("consumer: ended {:?}, not stopped with exit 0", consuming.states()));
    }
    failures.extend(consuming.protocol_notes().into_iter().map(|n| format!("consumer: {n}")));

    // 3. A producer SIGKILLed mid-run: acks it reported are real, its seqs in flight unknown.
    let mut config = producer_config(&run, bootstrap, &topic);
    config.id = 1;
    config.rate = 2000;
    let mut victim = spawn(config, client, &tx)?;
    victim.wait_ready(Duration::from_secs(60)).await?;
    let mut killed = Seen::default();
    killed
        .until(&mut rx, Duration::from_secs(60), |s| {
            s.sends().iter().filter(|e| e.producer == 1 && e.outcome == SendOutcome::Acked).count() >= 300
        })
        .await;
    victim.kill().await?;
    killed.drain(&mut rx);
    let sends: Vec<&SendEvent> = killed.sends().into_iter().filter(|s| s.producer == 1).collect();
    check_dense(&sends, "killed producer", &mut failures);
    if let Some(s) = sends.iter().find(|s| s.error.as_deref().is_some_and(|e| e.contains(kafka_chaos::workload::NO_REPORT_EXITED))) {
        failures.push(format!("killed producer: seq {} left open by an exit the harness did not cause", s.seq));
    }
    let in_flight = sends.iter().filter(|s| s.why_is_kill()).count();
    if !killed.states().contains(&"killed".to_string()) {
        failures.push(format!("killed producer: no kill recorded ({:?})", killed.states()));
    }
    failures.extend(killed.protocol_notes().into_iter().map(|n| format!("killed producer: {n}")));

    // Every ack any of its producers reported must be in the log at its offset.
    let mut log = Seen::default();
    let summary = read_log(LogReaderConfig::new(&run, bootstrap, &topic), tx.clone()).await?;
    log.drain(&mut rx);
    if !summary.complete() {
        failures.push(format!("the log reader did not finish: {:?}", summary.unfinished()));
    }
    let in_log: BTreeSet<(u32, u64, i32, i64)> = log
        .events
        .iter()
        .filter_map(|e| if let Event::Log(LogEvent { producer, seq, partition, offset }) = e { Some((*producer, *seq, *partition, *offset)) } else { None })
        .collect();
    for s in graceful.sends().iter().chain(sends.iter()) {
        if let (SendOutcome::Acked, Some(p), Some(o)) = (s.outcome, s.partition, s.offset) {
            if !in_log.contains(&(s.producer, s.seq, p, o)) {
                failures.push(format!("producer {} reported seq {} acked at {p}:{o}, which the log does not hold", s.producer, s.seq));
                break;
            }
        }
    }
    println!(
        "{client}: graceful {acked}/{MESSAGES} acked; consumer processed {}; killed after {} seqs ({} acked, {in_flight} in flight -> unknown); log {} records of this run",
        processed.len(),
        sends.len(),
        sends.iter().filter(|s| s.outcome == SendOutcome::Acked).count(),
        in_log.len()
    );
    Ok(failures.into_iter().map(|f| format!("{client}: {f}")).collect())
}

trait WhyIsKill {
    fn why_is_kill(&self) -> bool;
}

impl WhyIsKill for &SendEvent {
    fn why_is_kill(&self) -> bool {
        self.outcome == SendOutcome::Unknown
            && self.error.as_deref().is_some_and(|e| e.contains(kafka_chaos::workload::NO_REPORT_KILLED))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_worker_speaks_the_protocol() {
    require_docker();
    let mut failures = Vec::new();
    for client in ClientKind::ALL {
        if let Err(e) = launcher().command(client) {
            panic!("{e}");
        }
        match exit_code(client, "{}") {
            Some(2) => {}
            other => failures.push(format!("{client}: an empty config ended with {other:?}, not exit 2")),
        }
        let bad = serde_json::json!({
            "protocol": 1, "role": "producer", "id": 0, "run_id": "x", "bootstrap_servers": "127.0.0.1:9",
            "topic": "t", "partitions": 1, "rate": 1, "payload_bytes": 64, "duration_ms": 1000,
            "properties": { "no.such.setting.anywhere": "1" }
        });
        match exit_code(client, &bad.to_string()) {
            Some(2) => {}
            other => failures.push(format!("{client}: an unknown setting ended with {other:?}, not exit 2")),
        }
    }
    let started = Instant::now();
    let result = with_cluster(&spec(), |cluster| async move {
        let bootstrap = cluster.bootstrap_servers();
        let mut failures = Vec::new();
        for client in ClientKind::ALL {
            failures.extend(conform(client, &bootstrap, &cluster).await?);
        }
        Ok((cluster.run_id.clone(), failures))
    })
    .await;
    let (run_id, cluster_failures) = result.unwrap_or_else(|e| panic!("the run failed: {e}"));
    failures.extend(cluster_failures);
    assert_eq!(labelled_containers(Some(&run_id)), 0, "containers left behind");
    println!("took {:?}", started.elapsed());
    assert!(failures.is_empty(), "workers broke the protocol:\n  {}", failures.join("\n  "));
}
