//! The fault schedule of one cell, run as one task. Steps run in order; each fires once its time
//! has come, the previous step's heal is done (if it asks) and its condition holds (if it has
//! one), waiting for the last two at most `within`. Each step carries its heal, run by a task of
//! its own: after a time from when the step took effect, once the next step took effect, or at
//! the end of the run.
//!
//! Everything the schedule does is in the history: a `step` event when a step fires (with why)
//! or cannot (with why not), a `fault` event per victim when its effect is observed or the
//! action fails, and another when its heal is done or fails. A step that cannot fire stops the
//! schedule: later steps are recorded as not fired, so a cell never passes on a schedule that
//! did not run.

use super::Shared;
use crate::cluster::{Cluster, Observed};
use crate::error::{Error, Result};
use crate::faults::{self, Victim};
use crate::history::{Event, FaultEvent, FaultPhase, StepEvent, StepState};
use crate::model::fault::ClientFault;
use crate::scenario::{FaultActionKind, FaultStep, Trigger};
use crate::workload::{ConsumerState, EventSender, ProducerTracker, TimedEvent, WorkerProcess};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often conditions are looked at. Short: a condition can hold for a few hundred ms only.
const POLL: Duration = Duration::from_millis(10);
/// How often a condition on a worker that reports no automatic commits reads the broker's.
const BROKER_OFFSETS_EVERY: Duration = Duration::from_millis(500);
const BROKER_OFFSETS_TIMEOUT: Duration = Duration::from_secs(5);
/// A graceful stop of a consumer worker may take this long before it is killed.
const CONSUMER_STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// A producer stops by flushing what it has in flight, up to its client's delivery timeout.
const PRODUCER_STOP_TIMEOUT: Duration = Duration::from_secs(150);

/// What the steps act on and observe.
pub struct Targets {
    pub cluster: Arc<dyn Cluster>,
    pub topic: String,
    pub consumers: Shared<WorkerProcess>,
    pub producers: Shared<WorkerProcess>,
    /// Each producer's seqs and counters (acks per partition), readable without the producers'
    /// lock.
    pub progress: Vec<Arc<ProducerTracker>>,
    pub partitions: u32,
}

impl Targets {
    fn acked_on(&self, partition: u32) -> u64 {
        self.progress.iter().map(|p| p.progress.acked_on(partition)).sum()
    }
}

/// What became of a step, for the heal of the step before it and the step after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pending,
    /// Took effect on every victim.
    Applied,
    /// Did not fire, or did not take effect.
    Failed,
}

pub struct Schedule {
    pub steps: Vec<FaultStep>,
    pub targets: Arc<Targets>,
    pub events: EventSender,
    /// Time 0 of the history and of the steps' times.
    pub clock: Instant,
    /// The workload's planned duration: heals left for the end of the run happen once it is
    /// over and every step has fired or failed to.
    pub duration: Duration,
    /// Turns true when the run's time is up (the bound of its extension): no step fires after
    /// that, and heals left for the end happen at once.
    pub ended: watch::Receiver<bool>,
}

impl Schedule {
    /// Runs every step and waits for every heal.
    pub async fn run(self) {
        let n = self.steps.len();
        let fates: Vec<watch::Sender<Fate>> = (0..n).map(|_| watch::channel(Fate::Pending).0).collect();
        let healed: Vec<watch::Sender<bool>> = (0..n).map(|_| watch::channel(false).0).collect();
        // Heals left for the end wait for the planned duration and for the last step's fate.
        let (all_fired, end_of_steps) = watch::channel(false);
        let mut heals = Vec::new();
        // Acks per partition when the previous step took effect: "acked N since".
        let mut baseline: Vec<u64> = vec![0; self.targets.partitions as usize];
        let mut broken: Option<String> = None;
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(why) = &broken {
                self.step_event(i, step, StepState::NotFired, why.clone());
                fates[i].send_replace(Fate::Failed);
                healed[i].send_replace(true);
                continue;
            }
            let previous_healed = (i > 0).then(|| healed[i - 1].subscribe());
            let (victims, complete) = match self.fire(i, step, &baseline, previous_healed).await {
                Ok(fired) => (fired.victims, fired.complete),
                Err(why) => {
                    self.step_event(i, step, StepState::NotFired, why);
                    (Vec::new(), false)
                }
            };
            if complete {
                fates[i].send_replace(Fate::Applied);
                baseline = (0..self.targets.partitions).map(|p| self.targets.acked_on(p)).collect();
            } else {
                fates[i].send_replace(Fate::Failed);
                broken = Some(format!("step {} did not take effect", i + 1));
            }
            if victims.is_empty() {
                healed[i].send_replace(true);
                continue;
            }
            let heal = Heal {
                index: i,
                step: step.clone(),
                victims,
                // What a step that failed half-way broke is healed at once.
                at_once: !complete,
                applied: Instant::now(),
                next: fates.get(i + 1).map(|f| f.subscribe()),
                ended: self.ended.clone(),
                end_of_steps: end_of_steps.clone(),
                run_over: self.clock + self.duration,
                targets: self.targets.clone(),
                events: self.events.clone(),
                healed: healed[i].clone(),
            };
            heals.push(tokio::spawn(heal.run()));
        }
        all_fired.send_replace(true);
        for heal in heals {
            let _ = heal.await;
        }
    }

    /// Wait for the step's time, the previous heal and its condition, then apply it. Err: why
    /// it did not fire.
    async fn fire(
        &self,
        i: usize,
        step: &FaultStep,
        baseline: &[u64],
        previous_healed: Option<watch::Receiver<bool>>,
    ) -> std::result::Result<Fired, String> {
        let at = self.clock + Duration::from_millis(step.at_ms);
        // `within` counts from when the step may start: its time, or when the step before it
        // took effect, if that was later (a slow pause must not use up the next step's wait).
        let deadline = at.max(Instant::now()) + Duration::from_millis(step.within_ms);
        let mut ended = self.ended.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => {}
            _ = ended.wait_for(|e| *e) => return Err("the run ended before its time".into()),
        }
        let mut why = format!("at {}", seconds(self.clock.elapsed()));
        if step.after_heal {
            let mut healed = previous_healed.expect("check rejects after_heal on a first step");
            tokio::select! {
                _ = healed.wait_for(|h| *h) => {}
                _ = tokio::time::sleep_until(deadline.into()) => {
                    return Err(format!("step {i} was not healed within {}", seconds(Duration::from_millis(step.within_ms))));
                }
                _ = ended.wait_for(|e| *e) => return Err(format!("the run ended before step {i} was healed")),
            }
            why = format!("step {i} healed at {}", seconds(self.clock.elapsed()));
        }
        let mut frozen = None;
        if let Some(when) = step.when {
            let met = self.wait_for(when, baseline, deadline, step).await?;
            why = met.why;
            frozen = met.frozen;
        }
        self.step_event(i, step, StepState::Fired, why);
        let victims = match faults::resolve(step.target, self.targets.cluster.as_ref(), &self.targets.topic).await {
            Ok(victims) => victims,
            Err(e) => {
                self.thaw(frozen).await;
                let target = step.written_target().to_string();
                send_fault(&self.events, i, step, target, Instant::now(), FaultPhase::Failed, Record::said(None, e.to_string()));
                return Ok(Fired { victims: Vec::new(), complete: false });
            }
        };
        if let Some(k) = frozen {
            // A consumer frozen to check the condition is let go, unless the step acts on it.
            if !victims.contains(&Victim::Consumer(k)) {
                self.thaw(frozen).await;
            }
        }
        // A power cut or a voter majority is hit at once; other faults one after the other,
        // stopping at the first that fails.
        let apply = |victim: Victim| async move { (victim, Instant::now(), self.apply(step.action, victim).await) };
        let outcomes = match faults::at_once(step.action, &victims, &self.targets.cluster.voters()) {
            true => futures::future::join_all(victims.into_iter().map(apply)).await,
            false => {
                let mut outcomes = Vec::new();
                for victim in victims {
                    let outcome = apply(victim).await;
                    let failed = outcome.2.is_err();
                    outcomes.push(outcome);
                    if failed {
                        break;
                    }
                }
                outcomes
            }
        };
        let mut hit = Vec::new();
        let mut failed = false;
        for (victim, at, outcome) in outcomes {
            let label = victim.label(self.targets.cluster.as_ref());
            match outcome {
                Ok(observed) => {
                    let took = observed.took;
                    let detail = match observed.how.is_empty() {
                        true => format!("observed after {} ms", took.as_millis()),
                        false => format!("{}: observed after {} ms", observed.how, took.as_millis()),
                    };
                    let record = Record { took: Some(took), detail, discarded_bytes: observed.discarded_bytes };
                    send_fault(&self.events, i, step, label, at, FaultPhase::Start, record);
                    hit.push(victim);
                }
                Err(e) => {
                    send_fault(&self.events, i, step, label, at, FaultPhase::Failed, Record::said(None, e.to_string()));
                    failed = true;
                }
            }
        }
        Ok(Fired { complete: !failed && !hit.is_empty(), victims: hit })
    }

    /// Wait until `when` holds (by `deadline`, before the run ends). A condition on a consumer
    /// is checked again with the consumer frozen and its every line read, so the step fires on
    /// its exact state; the consumer stays frozen for the step.
    async fn wait_for(
        &self,
        when: Trigger,
        baseline: &[u64],
        deadline: Instant,
        step: &FaultStep,
    ) -> std::result::Result<Met, String> {
        let since = Instant::now();
        let mut best = 0u64;
        // For a worker that reports no automatic commits: the group's offsets on the broker.
        let mut broker_offsets: BTreeMap<i32, i64> = BTreeMap::new();
        let mut broker_read: Option<Instant> = None;
        loop {
            if *self.ended.borrow() {
                return Err(format!("the run ended before {when} (at most {best} were seen)"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{when}: not within {} (at most {best} were seen)",
                    seconds(Duration::from_millis(step.within_ms))
                ));
            }
            match when {
                Trigger::Acked { count, partition } => {
                    let base = baseline.get(partition as usize).copied().unwrap_or(0);
                    let acked = self.targets.acked_on(partition).saturating_sub(base);
                    best = best.max(acked);
                    if acked >= count {
                        return Ok(Met {
                            why: format!("{when} ({acked} after {})", seconds(since.elapsed())),
                            frozen: None,
                        });
                    }
                }
                Trigger::TxnOpen { count, producer } => {
                    // Read from the producer's lines as they come: the step acts a few
                    // milliseconds later, and the history's txn event shows whether the
                    // transaction was still open then.
                    let open = self.targets.progress.get(producer as usize).map_or(0, |p| p.open_txn_to_commit());
                    best = best.max(open);
                    if open >= count {
                        return Ok(Met { why: format!("{when} ({open} after {})", seconds(since.elapsed())), frozen: None });
                    }
                }
                Trigger::CommittedNotProcessed { count, consumer } | Trigger::ProcessedNotCommitted { count, consumer } => {
                    let mut consumers = self.targets.consumers.lock().await;
                    if let Some(c) = consumers.get_mut(consumer as usize).filter(|c| c.is_alive() && !c.is_paused()) {
                        let from_broker = !c.reports_commits();
                        if from_broker && broker_read.is_none_or(|at| at.elapsed() >= BROKER_OFFSETS_EVERY) {
                            broker_offsets = self.group_offsets(c).await.unwrap_or(broker_offsets);
                            broker_read = Some(Instant::now());
                        }
                        let seen = measure(when, &c.state().with_group_offsets(&broker_offsets));
                        best = best.max(seen);
                        if seen >= count {
                            let drained = c.freeze().await.map_err(|e| e.to_string())?;
                            // Frozen, the worker commits nothing more: the broker's offsets now
                            // are its exact commits.
                            let exact_offsets = match from_broker {
                                true => self.group_offsets(c).await.ok(),
                                false => Some(BTreeMap::new()),
                            };
                            let exact = exact_offsets.map_or(0, |o| measure(when, &c.state().with_group_offsets(&o)));
                            if drained && exact >= count {
                                return Ok(Met {
                                    why: format!(
                                        "{when} ({exact}, checked with the consumer frozen, after {})",
                                        seconds(since.elapsed())
                                    ),
                                    frozen: Some(consumer),
                                });
                            }
                            c.thaw().await.map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The committed offsets of `consumer`'s group, per partition, as the broker holds them.
    async fn group_offsets(&self, consumer: &WorkerProcess) -> Result<BTreeMap<i32, i64>> {
        let bootstrap = self.targets.cluster.bootstrap_servers();
        let group = &consumer.config().group_id;
        let lag = crate::workload::lag(&bootstrap, self.targets.cluster.security(), group, &self.targets.topic, BROKER_OFFSETS_TIMEOUT).await?;
        Ok(lag.partitions.iter().filter_map(|p| Some((p.partition, p.committed?))).collect())
    }

    async fn thaw(&self, frozen: Option<u32>) {
        if let Some(k) = frozen {
            if let Some(c) = self.targets.consumers.lock().await.get_mut(k as usize) {
                let _ = c.thaw().await;
            }
        }
    }

    /// Apply `action` to one victim; returns once its effect is observed.
    async fn apply(&self, action: FaultActionKind, victim: Victim) -> Result<Observed> {
        let began = Instant::now();
        let t = &self.targets;
        match victim {
            Victim::Node(id) => return faults::break_node(t.cluster.as_ref(), action, id).await,
            Victim::Consumer(i) => {
                let mut consumers = t.consumers.lock().await;
                let c = consumers.get_mut(i as usize).ok_or_else(|| Error::Invalid(format!("no consumer {i}")))?;
                match action.row().on_client {
                    Ok(ClientFault::Kill) => c.kill().await?,
                    Ok(ClientFault::Stop) => c.stop(CONSUMER_STOP_TIMEOUT).await?,
                    Ok(ClientFault::Pause) => c.pause().await?,
                    Err(_) => return Err(unsupported(action, victim)),
                }
            }
            Victim::Producer(i) => {
                let mut producers = t.producers.lock().await;
                let p = producers.get_mut(i as usize).ok_or_else(|| Error::Invalid(format!("no producer {i}")))?;
                match action.row().on_client {
                    Ok(ClientFault::Kill) => p.kill().await?,
                    Ok(ClientFault::Stop) => p.stop(PRODUCER_STOP_TIMEOUT).await?,
                    Ok(ClientFault::Pause) => p.pause().await?,
                    Err(_) => return Err(unsupported(action, victim)),
                }
            }
        }
        Ok(Observed { took: began.elapsed(), how: String::new(), ..Observed::default() })
    }

    fn step_event(&self, i: usize, step: &FaultStep, state: StepState, why: String) {
        let event = Event::Step(StepEvent {
            time_ms: 0.0,
            step: i as u32,
            action: step.action,
            target: step.written_target().to_string(),
            state,
            why,
        });
        let _ = self.events.send(TimedEvent::now(event));
    }
}

struct Met {
    why: String,
    frozen: Option<u32>,
}

/// A step that fired: the victims it took effect on, and whether that was all of them.
struct Fired {
    victims: Vec<Victim>,
    complete: bool,
}

/// The quantity a consumer condition counts.
fn measure(when: Trigger, state: &ConsumerState) -> u64 {
    match when {
        Trigger::CommittedNotProcessed { .. } => state.committed_not_processed(),
        Trigger::ProcessedNotCommitted { .. } => state.processed_not_committed(),
        Trigger::Acked { .. } | Trigger::TxnOpen { .. } => 0,
    }
}

fn unsupported(action: FaultActionKind, victim: Victim) -> Error {
    Error::Invalid(format!("{action} of {victim:?} is not supported (check should have rejected it; a bug)"))
}

/// The heal of one step, as a task of its own.
struct Heal {
    index: usize,
    step: FaultStep,
    victims: Vec<Victim>,
    at_once: bool,
    /// When the step took effect.
    applied: Instant,
    /// The next step's fate, for `heal_after_next`.
    next: Option<watch::Receiver<Fate>>,
    ended: watch::Receiver<bool>,
    /// True once every step has fired or failed to.
    end_of_steps: watch::Receiver<bool>,
    /// When the planned duration is over.
    run_over: Instant,
    targets: Arc<Targets>,
    events: EventSender,
    healed: watch::Sender<bool>,
}

impl Heal {
    async fn run(mut self) {
        match (self.step.heal_after_ms, self.step.heal_after_next, self.next.as_mut()) {
            _ if self.at_once => {}
            (Some(after), _, _) => tokio::time::sleep_until((self.applied + Duration::from_millis(after)).into()).await,
            (None, true, Some(next)) => {
                let mut ended = self.ended.clone();
                tokio::select! {
                    _ = next.wait_for(|f| *f != Fate::Pending) => {}
                    _ = ended.wait_for(|e| *e) => {}
                }
            }
            _ => {
                let mut ended = self.ended.clone();
                let end_of_run = async {
                    tokio::time::sleep_until(self.run_over.into()).await;
                    let _ = self.end_of_steps.wait_for(|e| *e).await;
                };
                tokio::select! {
                    _ = end_of_run => {}
                    _ = ended.wait_for(|e| *e) => {}
                }
            }
        }
        // Victims hit at once come back at once: one alone may wait forever for a controller
        // quorum the others are part of. Other heals go one after the other.
        if faults::at_once(self.step.action, &self.victims, &self.targets.cluster.voters()) {
            futures::future::join_all(self.victims.iter().map(|&victim| self.heal_and_record(victim))).await;
        } else {
            for &victim in &self.victims {
                self.heal_and_record(victim).await;
            }
        }
        self.healed.send_replace(true);
    }

    async fn heal_and_record(&self, victim: Victim) {
        let began = Instant::now();
        let label = victim.label(self.targets.cluster.as_ref());
        let verb = self.step.action.heal_verb();
        let (phase, detail) = match self.heal(victim).await {
            Ok(how) if how.is_empty() => (FaultPhase::End, format!("{verb} done after {} ms", began.elapsed().as_millis())),
            Ok(how) => (FaultPhase::End, format!("{how}: {verb} done after {} ms", began.elapsed().as_millis())),
            Err(e) => (FaultPhase::HealFailed, format!("{verb} failed: {e}")),
        };
        let took = Some(began.elapsed());
        send_fault(&self.events, self.index, &self.step, label, Instant::now(), phase, Record::said(took, detail));
    }

    /// Heal one victim; Ok(how it was done, if more than the verb says).
    async fn heal(&self, victim: Victim) -> Result<String> {
        let t = &self.targets;
        let client = match victim {
            Victim::Node(id) => return faults::heal_node(t.cluster.as_ref(), self.step.action, id).await.map(|o| o.how),
            Victim::Consumer(i) => match t.consumers.lock().await.get_mut(i as usize) {
                Some(c) if c.is_paused() => c.resume().await,
                Some(c) if !c.is_alive() => c.restart(),
                _ => Ok(()),
            },
            Victim::Producer(i) => match t.producers.lock().await.get_mut(i as usize) {
                Some(p) if p.is_paused() => p.resume().await,
                Some(p) if !p.is_alive() => p.restart(),
                _ => Ok(()),
            },
        };
        client.map(|()| String::new())
    }
}

/// What one victim's fault record says beyond its phase.
struct Record {
    took: Option<Duration>,
    detail: String,
    discarded_bytes: Option<u64>,
}

impl Record {
    fn said(took: Option<Duration>, detail: String) -> Record {
        Record { took, detail, discarded_bytes: None }
    }
}

fn send_fault(events: &EventSender, i: usize, step: &FaultStep, target: String, at: Instant, phase: FaultPhase, record: Record) {
    let event = Event::Fault(FaultEvent {
        time_ms: 0.0,
        action: step.action,
        target,
        phase,
        step: Some(i as u32),
        spec: Some(step.written_target().to_string()),
        took_ms: record.took.map(|d| (d.as_secs_f64() * 10_000.0).round() / 10.0),
        detail: Some(record.detail),
        discarded_bytes: record.discarded_bytes,
    });
    let _ = events.send(TimedEvent { at, event });
}

/// `12.3 s`.
fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
