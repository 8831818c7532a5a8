//! Drives one cell on a running cluster: topic, consumers, producers, the fault schedule, then
//! heal -> settle -> drain -> final read. The runner is the only writer of the cell's history:
//! every client, fault task and worker hands it events through one channel, and one task writes
//! them, stamped with milliseconds since the producers started.
//!
//! The history opens with the cell's plan (`cell`) and records the evidence a verdict needs:
//! what each fault step did (`schedule`), whether the group caught up (`drain`), how far the
//! final read got in each partition (`read`), and why the run ended early if it did (`abort`).
//! Verdicts are not made here: `judge` makes them from the stored history.

pub mod schedule;
#[cfg(test)]
mod tests;

use crate::checker::{self, Analysis};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::history::{AbortEvent, CellEvent, DrainEvent, Event, HistoryWriter};
use crate::plan::{Cell, Plan};
use crate::model::{Isolation, Workload};
use std::collections::BTreeMap;
use crate::workload::protocol::TransactionConfig;
use crate::workload::{self, EventSender, LogReaderConfig, Role, TimedEvent, WorkerConfig, WorkerLauncher, WorkerProcess};
use schedule::{Schedule, Targets};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Mutex};

/// How long consumers may take to join the group before the producers start.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
const CONSUMER_STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Beyond a producer's delivery timeout, for its last reports and its exit.
const PRODUCER_STOP_MARGIN: Duration = Duration::from_secs(30);
/// How long past the planned duration a run may go on while its steps heal.
pub const RUN_EXTENSION: Duration = Duration::from_secs(600);
/// Writes after the last heal: the producers go on this long once every step has healed.
pub const HEAL_TAIL: Duration = Duration::from_secs(5);

/// What a phase change looks like to a progress display.
pub type PhaseReporter = Arc<dyn Fn(&str) + Send + Sync>;

/// Clients shared between the runner and the fault schedule.
pub type Shared<T> = Arc<Mutex<Vec<T>>>;

/// Everything a cell run needs besides the cluster.
pub struct CellContext {
    pub plan: Arc<Plan>,
    pub cell: Cell,
    /// `cells/<cell-id>/` of the result directory.
    pub dir: PathBuf,
    pub launcher: WorkerLauncher,
    pub phase: PhaseReporter,
}

/// The outcome of one cell: its analysis (already saved as `analysis.json`) and the state it
/// left the cluster in.
pub struct CellRun {
    pub analysis: Analysis,
    /// False when the run left the cluster in a state the next cell should not inherit (a heal
    /// that failed, a broker out of the ISR, the run ended early); the reason is in `notes`.
    pub cluster_healthy: bool,
    pub notes: Vec<String>,
}

/// Run one cell and check its history. A failure mid-run ends the history with an `abort` event
/// and is still checked (its verdict is then unknown); only an interrupt, or a history that
/// cannot be written or read, is an error.
pub async fn run_cell(cluster: Arc<dyn Cluster>, ctx: CellContext) -> Result<CellRun> {
    std::fs::create_dir_all(&ctx.dir).map_err(|e| Error::io(format!("cannot create {}", ctx.dir.display()), e))?;
    let history_path = ctx.dir.join(checker::HISTORY_FILE);
    let (events, receiver) = tokio::sync::mpsc::unbounded_channel::<TimedEvent>();
    let history = History::create(&history_path, receiver)?;
    let _ = events.send(TimedEvent::now(Event::Cell(cell_event(&ctx.plan, &ctx.cell))));
    let mut notes = Vec::new();
    let outcome = drive(&cluster, &ctx, &events, &history).await;
    let cluster_healthy = match &outcome {
        Ok(problems) => {
            notes.extend(problems.iter().map(|p| format!("{p}; the next cell gets a fresh cluster")));
            problems.is_empty()
        }
        Err(Error::Interrupted) => false,
        Err(e) => {
            let _ = events.send(TimedEvent::now(Event::Abort(AbortEvent { time_ms: 0.0, reason: e.to_string() })));
            notes.push(format!("the cell could not be run to the end: {e}"));
            false
        }
    };
    drop(events);
    history.finish().await?;
    if let Err(Error::Interrupted) = outcome {
        return Err(Error::Interrupted);
    }
    (ctx.phase)("checking");
    let analysis = checker::analyze_file(&history_path)?;
    checker::write_analysis(&ctx.dir, &analysis)?;
    Ok(CellRun { analysis, cluster_healthy, notes })
}

/// The cell's plan, as the first line of its history.
fn cell_event(plan: &Plan, cell: &Cell) -> CellEvent {
    CellEvent {
        id: cell.id.clone(),
        brokers: plan.cluster.brokers,
        controllers: plan.cluster.controllers,
        partitions: plan.topic.partitions,
        replication_factor: plan.topic.replication_factor,
        producers: plan.workload.producers,
        consumers: plan.workload.consumers,
        duration_ms: plan.workload.duration.as_millis() as u64,
        steps: cell.faults.clone(),
    }
}

/// What a cell's consumers read: the cell's isolation, or read_committed when its producers are
/// transactional (as a transactional pipeline's consumers are set); None: the client's default.
fn isolation(cell: &Cell, workload: &Workload) -> Option<Isolation> {
    cell.isolation.or(workload.transactions.map(|_| Isolation::ReadCommitted))
}

/// The final read of the cell's topic, as its consumers would read it, with a `read` event per
/// partition.
async fn final_read(
    cluster: &dyn Cluster,
    ctx: &CellContext,
    run_id: &str,
    topic: &str,
    events: &EventSender,
) -> Result<workload::LogSummary> {
    (ctx.phase)("reading the log");
    note(events, "final read");
    let mut reader = LogReaderConfig::new(run_id, &cluster.bootstrap_servers(), topic);
    reader.isolation = isolation(&ctx.cell, &ctx.plan.workload).unwrap_or(Isolation::ReadUncommitted);
    if let Some(security) = cluster.security() {
        security.add_rdkafka_to(&mut reader.properties);
    }
    let summary = workload::read_log(reader, events.clone()).await?;
    for read in &summary.partitions {
        let _ = events.send(TimedEvent::now(Event::Read(read.event())));
    }
    Ok(summary)
}

/// The run itself; Ok(what is wrong with the cluster afterwards: empty if nothing).
async fn drive(
    cluster: &Arc<dyn Cluster>,
    ctx: &CellContext,
    events: &EventSender,
    history: &History,
) -> Result<Vec<String>> {
    let CellContext { plan, cell, dir, launcher, phase } = ctx;
    let workload = &plan.workload;
    // A fresh topic and group per cell: nothing of an earlier cell can leak into this one.
    let stamp = crate::cluster::docker::new_run_id();
    let topic = format!("{}{}-{stamp}", cluster.topic_prefix(), cell.index);
    let group = format!("{topic}-group");
    let run_id = format!("{}-{stamp}", cell.index);
    let partitions = plan.topic.partitions;

    phase("topic");
    cluster.create_topic(&topic, partitions as i32, plan.topic.replication_factor as i32, &cell.topic).await?;

    phase("consumers");
    let consumers: Shared<WorkerProcess> = Arc::new(Mutex::new(Vec::new()));
    let bootstrap = cluster.bootstrap_servers();
    let launcher = launcher.clone().stderr_to(dir);
    for id in 0..workload.consumers {
        let mut config = WorkerConfig::new(Role::Consumer, id, &run_id, &bootstrap, &topic);
        config.group_id = group.clone();
        config.commit = cell.commit;
        config.commit_every = workload.commit_every;
        config.commit_interval_ms = workload.commit_interval.as_millis() as u64;
        config.processing_ms = workload.processing.as_secs_f64() * 1000.0;
        config.processing_buffer = workload.processing_buffer as usize;
        config.properties = cell.consumer.clone();
        config.isolation = isolation(cell, workload);
        config.security = cluster.security().cloned();
        let process = WorkerProcess::spawn(config, cell.client, launcher.clone(), events.clone())?;
        consumers.lock().await.push(process);
    }
    wait_group_formed(&consumers, partitions).await?;

    phase("producing");
    let producers: Shared<WorkerProcess> = Arc::new(Mutex::new(Vec::new()));
    let per_producer_rate = workload.rate.div_ceil(workload.producers.max(1) as u64);
    let mut progress = Vec::new();
    let mut configs = Vec::new();
    for id in 0..workload.producers {
        let mut config = WorkerConfig::new(Role::Producer, id, &run_id, &bootstrap, &topic);
        config.partitions = partitions as i32;
        config.rate = per_producer_rate;
        config.payload_bytes = workload.payload_bytes as usize;
        config.routing = workload.key_routing;
        // The runner stops the producers (see below); their own end is only a backstop.
        config.duration_ms = (workload.duration + RUN_EXTENSION + HEAL_TAIL + PRODUCER_STOP_MARGIN).as_millis() as u64;
        config.acks = cell.acks.clone();
        config.idempotence = cell.idempotence;
        // The same transactional.id for every process of this producer id: a restart fences the
        // process before it.
        config.transaction = workload.transactions.map(|t| TransactionConfig {
            id: format!("{topic}-producer-{id}"),
            messages: t.messages,
            abort_every: t.abort_every,
            timeout_ms: t.timeout.as_millis() as u64,
        });
        config.properties = cell.producer.clone();
        config.security = cluster.security().cloned();
        configs.push(config);
    }
    for config in configs {
        let producer = WorkerProcess::spawn(config, cell.client, launcher.clone(), events.clone())?;
        progress.push(producer.producer());
        producers.lock().await.push(producer);
    }
    // The clock of the fault schedule and of the history starts once every producer is ready
    // (its client created; each sends for its duration from then): a step at 5 s meets 5 s of
    // traffic from all of them, whatever a JVM's start took.
    for producer in producers.lock().await.iter_mut() {
        producer.wait_ready(JOIN_TIMEOUT).await?;
    }
    let clock = Instant::now();
    history.start(clock);
    let (end, ended) = watch::channel(false);
    let targets = Targets {
        cluster: cluster.clone(),
        topic: topic.clone(),
        consumers: consumers.clone(),
        producers: producers.clone(),
        progress,
        partitions,
    };
    let schedule = Schedule {
        steps: cell.faults.clone(),
        targets: Arc::new(targets),
        events: events.clone(),
        clock,
        duration: workload.duration,
        ended,
    };
    // Ok(when the last heal was done).
    let schedule = tokio::spawn(async move {
        schedule.run().await;
        Instant::now()
    });

    // The producers send for the planned duration, and on while the steps heal, plus a tail
    // after the last heal (a claim about what survives a fault needs writes on both sides of
    // it): a rolling restart longer than the workload runs to its end. Bounded by
    // RUN_EXTENSION; no step fires after the planned duration unless it is already waiting.
    tokio::time::sleep_until((clock + workload.duration).into()).await;
    let mut schedule = schedule;
    // Without steps the schedule has already ended.
    if !cell.faults.is_empty() {
        phase("healing");
        let bound = clock + workload.duration + RUN_EXTENSION;
        let scheduled = match tokio::time::timeout_at(bound.into(), &mut schedule).await {
            Ok(scheduled) => scheduled,
            Err(_) => {
                note(events, &format!("the steps had not all healed {} s after the planned duration; ending the run", RUN_EXTENSION.as_secs()));
                end.send_replace(true);
                (&mut schedule).await
            }
        };
        let healed = scheduled.map_err(|e| Error::infra(format!("the fault schedule failed (a bug): {e}")))?;
        tokio::time::sleep_until((healed + HEAL_TAIL).into()).await;
    }
    end.send_replace(true);
    // The producers stop sending now and flush what is in flight, up to their delivery timeout
    // (SIGTERM; SIGKILL after it, so a producer that hangs cannot hold the run).
    phase("flushing");
    let flush_bound = workload::delivery_timeout(&cell.producer) + PRODUCER_STOP_MARGIN;
    {
        let mut producers = producers.lock().await;
        let stopped = futures::future::join_all(producers.iter_mut().map(|p| p.stop(flush_bound))).await;
        stopped.into_iter().collect::<Result<Vec<()>>>()?;
    }
    // Anything a step left broken (a heal that failed) is healed here; the cluster is then
    // checked before another cell may use it.
    let mut unhealthy = Vec::new();
    if let Err(e) = crate::cluster::heal_all(cluster.as_ref()).await {
        unhealthy.push(format!("could not heal the cluster: {e}"));
    }
    for consumer in consumers.lock().await.iter_mut() {
        if consumer.is_paused() {
            consumer.resume().await?;
        }
        if !consumer.is_alive() {
            consumer.restart()?;
        }
    }
    if let Err(e) = cluster.check_health().await {
        unhealthy.push(format!("the cluster is not healthy after the cell: {e}"));
    }
    for problem in &unhealthy {
        note(events, problem);
    }
    note(events, "settle");
    phase("settling");
    tokio::time::sleep(workload.settle).await;

    // With transactions, the end of a partition is not its high watermark: a transaction's marker
    // takes an offset no consumer is handed. So the log is read first, and the consumers must
    // reach the last record it holds.
    let transactional = workload.transactions.is_some();
    let read_first = if transactional { Some(final_read(cluster.as_ref(), ctx, &run_id, &topic, events).await?) } else { None };
    if workload.consumers > 0 {
        phase("draining");
        let began = Instant::now();
        let ends: Option<BTreeMap<i32, Option<i64>>> = read_first
            .as_ref()
            .map(|s| s.partitions.iter().map(|r| (r.partition, r.last_record.map(|o| o + 1))).collect());
        let drained = drain(cluster.as_ref(), &consumers, &group, &topic, workload.drain_timeout, ends.as_ref()).await;
        let (caught_up, detail) = match drained {
            Ok(()) => (true, "0 records behind".to_string()),
            Err(lag) => (false, lag),
        };
        let waited_ms = began.elapsed().as_secs_f64() * 1000.0;
        let _ = events.send(TimedEvent::now(Event::Drain(DrainEvent { time_ms: 0.0, caught_up, waited_ms, detail })));
    }
    for consumer in consumers.lock().await.iter_mut() {
        consumer.stop(CONSUMER_STOP_TIMEOUT).await?;
    }
    if read_first.is_none() {
        final_read(cluster.as_ref(), ctx, &run_id, &topic, events).await?;
    }
    let _ = cluster.delete_topic(&topic).await;
    Ok(unhealthy)
}

/// Wait until every consumer has joined the group (an assignment, maybe empty: consumers beyond
/// the partition count stay idle) and the group's assignments cover every partition.
async fn wait_group_formed(consumers: &Shared<WorkerProcess>, partitions: u32) -> Result<()> {
    for consumer in consumers.lock().await.iter_mut() {
        consumer.wait_joined(JOIN_TIMEOUT).await?;
    }
    let deadline = Instant::now() + JOIN_TIMEOUT;
    loop {
        let covered: std::collections::BTreeSet<i32> =
            consumers.lock().await.iter().flat_map(|c| c.state().assigned.into_iter()).collect();
        if consumers.lock().await.is_empty() || covered.len() as u32 >= partitions {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::infra(format!(
                "the consumer group holds {} of {partitions} partitions after {} s",
                covered.len(),
                JOIN_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn note(events: &EventSender, text: &str) {
    let _ = events.send(TimedEvent::now(Event::note(text)));
}

/// The writer of one history. Events queue in the channel until `start` gives time 0 (the
/// producers' start); `finish` waits until every sender is gone and the file is synced.
struct History {
    path: PathBuf,
    writer: std::sync::Mutex<Option<HistoryWriter>>,
    receiver: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<TimedEvent>>>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<Result<()>>>>,
}

impl History {
    fn create(path: &Path, receiver: tokio::sync::mpsc::UnboundedReceiver<TimedEvent>) -> Result<History> {
        let writer = HistoryWriter::create(path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(History {
            path: path.to_path_buf(),
            writer: std::sync::Mutex::new(Some(writer)),
            receiver: std::sync::Mutex::new(Some(receiver)),
            task: std::sync::Mutex::new(None),
        })
    }

    /// Start writing, with `clock` as time 0. Only the first call counts.
    fn start(&self, clock: Instant) {
        let (Some(mut writer), Some(mut receiver)) = (self.writer.lock().unwrap().take(), self.receiver.lock().unwrap().take())
        else {
            return;
        };
        let path = self.path.clone();
        let task = tokio::spawn(async move {
            let fail = |e| Error::io(format!("cannot write {}", path.display()), e);
            while let Some(timed) = receiver.recv().await {
                writer.write(&timed.stamped(clock)).map_err(fail)?;
            }
            writer.flush().map_err(fail)
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Write everything sent (starting now if the producers never started) and sync the file.
    async fn finish(self) -> Result<()> {
        self.start(Instant::now());
        let task = self.task.lock().unwrap().take();
        match task {
            Some(task) => task.await.map_err(|e| Error::infra(format!("the history writer failed: {e}")))?,
            None => Ok(()),
        }
    }
}

/// Wait until the group's committed offsets reach the end of every partition and so does its
/// processing: in `auto` and `before-process` modes commits run ahead of processing, and
/// records still buffered when the consumers stop would count as unconsumed.
async fn drain(
    cluster: &dyn Cluster,
    consumers: &Shared<WorkerProcess>,
    group: &str,
    topic: &str,
    timeout: Duration,
    ends: Option<&BTreeMap<i32, Option<i64>>>,
) -> std::result::Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match cluster.group_lag(group, topic).await {
            Ok(lag) => {
                let states: Vec<_> = consumers.lock().await.iter().map(|c| c.state()).collect();
                // A partition's end: its high watermark, or where its last record is.
                let end_of = |p: &workload::PartitionLag| match ends {
                    Some(ends) => ends.get(&p.partition).copied().flatten().unwrap_or(p.low),
                    None => p.high,
                };
                let behind: i64 = lag.partitions.iter().map(|p| (end_of(p) - p.committed.unwrap_or(p.low)).max(0)).sum();
                let ends: Vec<(i64, i64)> = lag.partitions.iter().map(|p| (p.low, end_of(p))).collect();
                let processed: Vec<Option<i64>> = lag
                    .partitions
                    .iter()
                    .map(|p| states.iter().filter_map(|s| s.processed_to(p.partition)).max())
                    .collect();
                let unprocessed = unprocessed(&ends, &processed);
                if behind <= 0 && unprocessed == 0 {
                    return Ok(());
                }
                last = format!("{behind} records behind in commits, {unprocessed} not processed");
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last)
}

/// Records between what processing reached and the end of each partition: `ends` are (low,
/// high) watermarks, `processed` one past the highest offset processed (None: nothing).
fn unprocessed(ends: &[(i64, i64)], processed: &[Option<i64>]) -> i64 {
    ends.iter().zip(processed).map(|(&(low, high), to)| (high - to.unwrap_or(low)).max(0)).sum()
}
