//! Drives one cell on a running cluster: topic, consumers, producers, the fault schedule, then
//! heal -> settle -> drain -> final read. The runner is the only writer of the cell's history:
//! every client, fault task and worker hands it events through one channel, and one task writes
//! them, stamped with milliseconds since the producers started.

use crate::checker::{self, Analysis};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::faults::{self, Victim};
use crate::history::{Event, FaultPhase, HistoryWriter};
use crate::plan::{Cell, Plan};
use crate::scenario::{FaultActionKind, FaultStep};
use crate::workload::{
    self, ConsumerConfig, ConsumerProcess, EventSender, LogReaderConfig, ProducerConfig, ProducerHandle,
    TimedEvent, WorkerLauncher,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long consumers may take to join the group before the producers start.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
const CONSUMER_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// What a phase change looks like to a progress display.
pub type PhaseReporter = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything a cell run needs besides the cluster.
pub struct CellContext {
    pub plan: Arc<Plan>,
    pub cell: Cell,
    /// `cells/<cell-id>/` of the result directory.
    pub dir: PathBuf,
    pub launcher: WorkerLauncher,
    pub phase: PhaseReporter,
}

/// The outcome of one cell: its analysis (already saved as `analysis.json`) and what else the
/// run noticed, e.g. a drain that timed out.
pub struct CellRun {
    pub analysis: Analysis,
    pub notes: Vec<String>,
    /// False when the run left the cluster in a state the next cell should not inherit.
    pub cluster_healthy: bool,
    /// False when the consumer group did not catch up before `drain_timeout`: consumer-side
    /// counts then include records nobody had the time to process.
    pub drained: bool,
}

type Shared<T> = Arc<Mutex<Vec<T>>>;

pub async fn run_cell(cluster: Arc<Cluster>, ctx: CellContext) -> Result<CellRun> {
    let CellContext { plan, cell, dir, launcher, phase } = ctx;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let workload = &plan.workload;
    // A fresh topic and group per cell: nothing of an earlier cell can leak into this one.
    let stamp = crate::cluster::docker::new_run_id();
    let topic = format!("kc-{}-{stamp}", cell.index);
    let group = format!("{topic}-group");
    let run_id = format!("{}-{stamp}", cell.index);

    phase("topic");
    cluster
        .topology
        .create_topic(&topic, plan.topic.partitions as i32, plan.topic.replication_factor as i32, &cell.topic)
        .await?;

    // Events queue in the channel until the writer starts with the producers: time 0 of the
    // history is time 0 of the fault schedule.
    let (events, receiver) = tokio::sync::mpsc::unbounded_channel::<TimedEvent>();
    let history_path = dir.join(checker::HISTORY_FILE);
    let mut notes = Vec::new();

    phase("consumers");
    let consumers: Shared<ConsumerProcess> = Arc::new(Mutex::new(Vec::new()));
    let bootstrap = cluster.bootstrap_servers();
    for id in 0..workload.consumers {
        let mut config = ConsumerConfig::new(id, &run_id, &bootstrap, &topic, &group, cell.commit);
        config.commit_every = workload.commit_every;
        config.processing_ms = workload.processing.as_secs_f64() * 1000.0;
        config.processing_buffer = workload.processing_buffer as usize;
        config.properties = cell.consumer.clone();
        let process = ConsumerProcess::spawn(config, launcher.clone().stderr_to(&dir), events.clone())?;
        consumers.lock().await.push(process);
    }
    for consumer in consumers.lock().await.iter_mut() {
        consumer.wait_assigned(JOIN_TIMEOUT).await?;
    }

    phase("producing");
    // The clock of the fault schedule and of the history starts with the producers.
    let faults_start = Instant::now();
    let writer = spawn_writer(&history_path, faults_start, receiver)?;
    let producers: Shared<ProducerHandle> = Arc::new(Mutex::new(Vec::new()));
    let per_producer_rate = workload.rate.div_ceil(workload.producers.max(1) as u64);
    for id in 0..workload.producers {
        let mut config = ProducerConfig::new(id, &run_id, &bootstrap, &topic, plan.topic.partitions as i32);
        config.rate = per_producer_rate;
        config.payload_bytes = workload.payload_bytes as usize;
        config.routing = workload.key_routing;
        config.duration = workload.duration;
        config.properties = cell.producer.clone();
        producers.lock().await.push(ProducerHandle::start(config, events.clone())?);
    }

    let fault_tasks: Vec<_> = cell
        .faults
        .iter()
        .cloned()
        .map(|step| {
            let scheduled = ScheduledFault {
                step,
                cluster: cluster.clone(),
                topic: topic.clone(),
                consumers: consumers.clone(),
                producers: producers.clone(),
                events: events.clone(),
            };
            tokio::spawn(scheduled.run(faults_start))
        })
        .collect();

    // Wait without holding the producers' lock: a fault task may need it to kill one.
    tokio::time::sleep_until((faults_start + workload.duration).into()).await;
    while producers.lock().await.iter().any(|p| p.is_running()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for producer in producers.lock().await.iter_mut() {
        producer.wait().await;
    }
    // Faults scheduled within the duration have fired; their heals may still be pending.
    phase("healing");
    let mut healed_steps = Vec::new();
    for task in fault_tasks {
        match task.await {
            Ok(Ok(pending)) => healed_steps.extend(pending),
            Ok(Err(e)) => notes.push(format!("a fault step failed: {e}")),
            Err(e) => notes.push(format!("a fault task failed: {e}")),
        }
    }
    // Heal what the schedule left broken (steps without heal_after, or whose heal failed).
    for (step, victims) in healed_steps {
        heal(&step, &victims, &cluster, &consumers, &producers, &events).await;
    }
    let mut cluster_healthy = true;
    if let Err(e) = cluster.heal_all().await {
        notes.push(format!("could not heal the cluster: {e}"));
        cluster_healthy = false;
    }
    for consumer in consumers.lock().await.iter_mut() {
        if !consumer.is_alive() {
            consumer.restart()?;
        }
    }
    note(&events, "settle");
    phase("settling");
    tokio::time::sleep(workload.settle).await;

    phase("draining");
    note(&events, "drain");
    let drained = drain(&bootstrap, &group, &topic, workload.drain_timeout).await;
    if let Err(lag) = &drained {
        let text = format!(
            "the consumer group did not catch up within {} s ({lag}); rules on unconsumed, redelivered and processed_twice are not judged",
            workload.drain_timeout.as_secs()
        );
        note(&events, &text);
        notes.push(text);
    }
    for consumer in consumers.lock().await.iter_mut() {
        consumer.stop(CONSUMER_STOP_TIMEOUT).await?;
    }

    phase("reading the log");
    note(&events, "final read");
    let summary = workload::read_log(LogReaderConfig::new(&run_id, &bootstrap, &topic), events.clone()).await?;
    if !summary.complete() {
        let text = format!("the final read did not reach the end of: {}", summary.unfinished().join(", "));
        note(&events, &text);
        notes.push(text);
    }
    // The writer ends when the last sender is gone; clients hold senders too.
    consumers.lock().await.clear();
    producers.lock().await.clear();
    drop(events);
    writer.await.map_err(|e| Error::infra(format!("the history writer failed: {e}")))??;
    let _ = cluster.topology.delete_topic(&topic).await;

    phase("checking");
    let analysis = checker::analyze_file(&history_path)?;
    checker::write_analysis(&dir, &analysis)?;
    checker::write_timeline_csv(&dir, &analysis)?;
    Ok(CellRun { analysis, notes, cluster_healthy, drained: drained.is_ok() })
}

fn note(events: &EventSender, text: &str) {
    let _ = events.send(TimedEvent::now(Event::Note { time_ms: 0.0, text: text.to_string() }));
}

/// The one writer: drains the channel into history.jsonl until every sender is gone.
fn spawn_writer(
    path: &Path,
    start: Instant,
    mut receiver: tokio::sync::mpsc::UnboundedReceiver<TimedEvent>,
) -> Result<tokio::task::JoinHandle<Result<()>>> {
    let mut writer = HistoryWriter::create(path, start)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    let path = path.to_path_buf();
    Ok(tokio::spawn(async move {
        let fail = |e| Error::io(format!("cannot write {}", path.display()), e);
        while let Some(timed) = receiver.recv().await {
            writer.write(&timed.stamped(start)).map_err(fail)?;
        }
        writer.flush().map_err(fail)
    }))
}

/// Wait until the group's committed offsets reach the end of every partition.
async fn drain(bootstrap: &str, group: &str, topic: &str, timeout: Duration) -> std::result::Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match workload::lag(bootstrap, group, topic, Duration::from_secs(10)).await {
            Ok(lag) if lag.total == 0 => return Ok(()),
            Ok(lag) => last = format!("{} records behind", lag.total),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last)
}

/// One step of a fault schedule, as a task: wait, resolve the target, break it, wait, heal it.
struct ScheduledFault {
    step: FaultStep,
    cluster: Arc<Cluster>,
    topic: String,
    consumers: Shared<ConsumerProcess>,
    producers: Shared<ProducerHandle>,
    events: EventSender,
}

impl ScheduledFault {
    /// Returns the step and its victims when the heal is left to the end of the run.
    async fn run(self, clock: Instant) -> Result<Option<(FaultStep, Vec<Victim>)>> {
        let step = &self.step;
        tokio::time::sleep_until((clock + Duration::from_millis(step.at_ms)).into()).await;
        let victims = match faults::resolve(step.target, &self.cluster, &self.topic).await {
            Ok(v) => v,
            Err(e) => {
                note(&self.events, &format!("fault {} {} not applied: {e}", step.action, step.written_target()));
                return Err(e);
            }
        };
        let mut hit = Vec::new();
        for victim in &victims {
            let at = Instant::now();
            let took = break_victim(step.action, *victim, &self.cluster, &self.consumers, &self.producers).await;
            let detail = match &took {
                Ok(d) => format!("observed after {} ms", d.as_millis()),
                Err(e) => format!("failed: {e}"),
            };
            send_fault(&self.events, at, step, victim.label(&self.cluster), FaultPhase::Start, detail);
            if took.is_ok() {
                hit.push(*victim);
            }
        }
        let Some(heal_at) = step.heal_at_ms() else { return Ok(Some((step.clone(), hit))) };
        tokio::time::sleep_until((clock + Duration::from_millis(heal_at)).into()).await;
        heal(step, &hit, &self.cluster, &self.consumers, &self.producers, &self.events).await;
        Ok(None)
    }
}

async fn break_victim(
    action: FaultActionKind,
    victim: Victim,
    cluster: &Cluster,
    consumers: &Shared<ConsumerProcess>,
    producers: &Shared<ProducerHandle>,
) -> Result<Duration> {
    let began = Instant::now();
    match victim {
        Victim::Node(id) => return faults::break_node(cluster, action, id).await,
        Victim::Consumer(i) => {
            let mut consumers = consumers.lock().await;
            let consumer = consumers.get_mut(i as usize).ok_or_else(|| Error::Invalid(format!("no consumer {i}")))?;
            match action {
                FaultActionKind::Kill => consumer.kill().await?,
                FaultActionKind::Stop => consumer.stop(CONSUMER_STOP_TIMEOUT).await?,
                other => return Err(Error::Invalid(format!("{other} is not supported for consumers"))),
            }
        }
        Victim::Producer(i) => {
            let mut producers = producers.lock().await;
            let producer = producers.get_mut(i as usize).ok_or_else(|| Error::Invalid(format!("no producer {i}")))?;
            match action {
                FaultActionKind::Kill => producer.kill().await,
                FaultActionKind::Stop => producer.stop().await,
                other => return Err(Error::Invalid(format!("{other} is not supported for producers"))),
            }
        }
    }
    Ok(began.elapsed())
}

/// Heal each victim of a step and record the end of the fault window.
async fn heal(
    step: &FaultStep,
    victims: &[Victim],
    cluster: &Cluster,
    consumers: &Shared<ConsumerProcess>,
    producers: &Shared<ProducerHandle>,
    events: &EventSender,
) {
    for victim in victims {
        let at = Instant::now();
        let result = match victim {
            Victim::Node(id) => faults::heal_node(cluster, step.action, *id).await.map(|_| ()),
            Victim::Consumer(i) => match consumers.lock().await.get_mut(*i as usize) {
                Some(c) if !c.is_alive() => c.restart(),
                _ => Ok(()),
            },
            Victim::Producer(i) => match producers.lock().await.get_mut(*i as usize) {
                Some(p) if !p.is_running() => p.restart(),
                _ => Ok(()),
            },
        };
        let detail = match result {
            Ok(()) => format!("{} done after {} ms", step.action.heal_verb(), at.elapsed().as_millis()),
            Err(e) => format!("{} failed: {e}", step.action.heal_verb()),
        };
        send_fault(events, Instant::now(), step, victim.label(cluster), FaultPhase::End, detail);
    }
}

fn send_fault(events: &EventSender, at: Instant, step: &FaultStep, target: String, phase: FaultPhase, detail: String) {
    let event = Event::Fault {
        time_ms: 0.0,
        action: step.action.as_str().to_string(),
        target,
        phase,
        spec: Some(step.written_target().to_string()),
        detail: Some(detail),
    };
    let _ = events.send(TimedEvent { at, event });
}
