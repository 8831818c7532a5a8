//! The evidence behind a verdict, read from the history alone: did every planned fault step fire,
//! take effect on each of its victims and heal; did the final read reach the end of every
//! partition; did the consumers catch up; does every producer's ledger hold (seqs 0..n, each
//! with one outcome); and what ran that the plan did not intend (a step much later than its
//! time, more brokers down at once than the schedule implies, the controller quorum lost).
//!
//! The checker records evidence; `judge` decides what a verdict may rest on.

use super::faults::seconds;
use crate::history::{
    CellEvent, DrainEvent, Event, FaultEvent, FaultPhase, ReadEvent, StepEvent, StepState,
};
use crate::history_reader::LinePosition;
use crate::model::{FaultStep, FaultTarget, FaultTargetKind, NodeKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A step fired this much after its time (with nothing else to wait for) ran late.
const LATE_FIRE_MS: f64 = 5_000.0;
/// An effect observed this long after the fault was applied came late.
const SLOW_EFFECT_MS: f64 = 10_000.0;
/// A heal begun this long after it was due came late.
const LATE_HEAL_MS: f64 = 20_000.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The cell as its history describes it; None for a history without a `cell` line.
    pub cell: Option<CellEvent>,
    /// One per planned step, in order.
    pub steps: Vec<StepEvidence>,
    pub read: ReadEvidence,
    /// None: no drain was recorded (no consumers, or the run ended before it).
    pub drain: Option<DrainEvent>,
    pub ledger: Ledger,
    /// Why the run of the cell ended early, if it did.
    pub aborted: Option<String>,
    pub outage: Outage,
    /// What ran that the plan did not intend.
    pub deviations: Vec<String>,
    /// Whether the run exercised the cluster: the producers ran and writes were acknowledged.
    #[serde(default)]
    pub exercise: Exercise,
    /// Consumers that did not stop in time after the drain and were killed: records they held
    /// were never processed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub killed_at_stop: Vec<u32>,
}

/// The traffic behind a verdict: a claim "nothing acknowledged was lost" needs every planned
/// producer to have run, and acknowledged writes before the first fault and after the last heal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exercise {
    /// One per producer id the history mentions, ascending.
    pub producers: Vec<ProducerRun>,
    pub acked: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ack_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ack_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerRun {
    pub producer: u32,
    /// It reported `ready` (its client was created) at least once.
    pub ready: bool,
    /// Its last worker state: `stopped` when it ran to its end; `exited`, `killed`, or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

/// The acknowledgements of a history, for `Exercise`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AckSpan {
    pub acked: u64,
    pub first_ms: Option<f64>,
    pub last_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvidence {
    pub step: u32,
    pub action: crate::model::FaultActionKind,
    /// The target as written.
    pub target: String,
    /// When the plan said it fires: `at 10 s, then once ...`.
    pub planned: String,
    pub fired_ms: Option<f64>,
    /// Why it fired, or why it did not.
    pub why: Option<String>,
    pub victims: Vec<VictimEvidence>,
    /// Why this step is not evidence of what the plan asked for; None when it fired, took
    /// effect on every victim and healed.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VictimEvidence {
    /// As resolved when the step fired: `broker-2`, `consumer-0`.
    pub target: String,
    pub applied_ms: Option<f64>,
    pub observed_after_ms: Option<f64>,
    pub healed_ms: Option<f64>,
    pub heal_took_ms: Option<f64>,
    /// A power cut: the bytes the broker had not fsynced and lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadEvidence {
    pub partitions: Vec<ReadEvent>,
    /// Every partition read to the high watermark taken before reading.
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub producers: Vec<ProducerLedger>,
    /// Seqs below a producer's highest with no outcome, over all producers.
    pub gaps: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerLedger {
    pub producer: u32,
    /// Messages with an outcome.
    pub outcomes: u64,
    /// One past the highest seq with an outcome: the ledger holds when this equals `outcomes`.
    pub next_seq: u64,
    /// The first seq without an outcome, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_gap: Option<u64>,
}

/// How much of the cluster was down at once, as run and as planned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Brokers killed, stopped, paused or isolated at the same time, at most.
    pub max_brokers_down: u32,
    /// The most the schedule implies, if every step fired on time and healed at once.
    pub planned_max_brokers_down: u32,
    /// When a majority of the KRaft voters was down: `[from_ms, to_ms]` (to: None, never back).
    pub quorum_lost: Vec<(f64, Option<f64>)>,
    /// Whether the schedule implies losing the quorum.
    pub quorum_loss_planned: bool,
}

impl Evidence {
    /// Why no count of this cell can be judged: the run ended early, a step did not do what the
    /// plan asked, the final read is incomplete, or a ledger has gaps. Empty: the evidence holds.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(reason) = &self.aborted {
            problems.push(format!("the run of the cell ended early: {reason}"));
        }
        if self.cell.is_none() {
            problems.push("the history does not say what the cell planned (no cell line); it may be from an older release".into());
        }
        problems.extend(self.steps.iter().filter_map(|s| s.problem.clone()));
        problems.extend(self.exercise_problems());
        if let Some(problem) = &self.read.problem {
            problems.push(problem.clone());
        }
        if self.ledger.gaps > 0 {
            let first = self
                .ledger
                .producers
                .iter()
                .find_map(|p| p.first_gap.map(|seq| format!(" (first: producer {} seq {seq})", p.producer)))
                .unwrap_or_default();
            problems.push(format!(
                "{} message(s) were sent without a recorded outcome{first}: the ledger of seqs has gaps",
                self.ledger.gaps
            ));
        }
        problems
    }

    /// Why the run is no evidence for lack of traffic: a planned producer never became ready or
    /// did not run to its end, nothing was acknowledged, or nothing before the first fault or
    /// after the last heal.
    pub fn exercise_problems(&self) -> Vec<String> {
        let Some(cell) = &self.cell else { return Vec::new() };
        let mut problems = Vec::new();
        for id in 0..cell.producers {
            let run = self.exercise.producers.iter().find(|p| p.producer == id);
            match run {
                None | Some(ProducerRun { ready: false, .. }) => {
                    problems.push(format!("producer {id} never reported ready: its client was not created"))
                }
                Some(ProducerRun { ended: Some(state), .. }) if state == "stopped" => {}
                Some(ProducerRun { ended, .. }) => problems.push(format!(
                    "producer {id} did not run to its end (its last state: {})",
                    ended.as_deref().unwrap_or("no end recorded")
                )),
            }
        }
        if cell.producers == 0 {
            return problems;
        }
        let e = &self.exercise;
        let (Some(first), Some(last)) = (e.first_ack_ms, e.last_ack_ms) else {
            problems.push("no write was acknowledged: nothing shows the cluster took the workload".into());
            return problems;
        };
        let victims = || self.steps.iter().flat_map(|s| s.victims.iter());
        if let Some(fault) = victims().filter_map(|v| v.applied_ms).reduce(f64::min) {
            if first >= fault {
                problems.push(format!(
                    "no write was acknowledged before the first fault (at {}; the first ack at {})",
                    seconds(fault),
                    seconds(first)
                ));
            }
        }
        if let Some(heal) = victims().filter_map(|v| v.healed_ms).reduce(f64::max) {
            if last <= heal {
                problems.push(format!(
                    "no write was acknowledged after the last heal (at {}; the last ack at {})",
                    seconds(heal),
                    seconds(last)
                ));
            }
        }
        problems
    }

    /// Why the consumer-side counts (unconsumed, redelivered, processed_twice) cannot be
    /// judged: the group did not catch up, or no drain was recorded.
    pub fn consumer_problem(&self) -> Option<String> {
        let consumers = self.cell.as_ref().map_or(0, |c| c.consumers);
        if consumers == 0 {
            return None;
        }
        if !self.killed_at_stop.is_empty() {
            let ids: Vec<String> = self.killed_at_stop.iter().map(|c| c.to_string()).collect();
            return Some(format!(
                "consumer(s) {} did not stop in time after the drain and were killed: records they still held would count as unconsumed",
                ids.join(", ")
            ));
        }
        match &self.drain {
            Some(d) if d.caught_up => None,
            Some(d) => Some(format!(
                "the consumer group did not catch up within {} ({}): records nobody had time to process would count as unconsumed",
                seconds(d.waited_ms),
                d.detail
            )),
            None => Some("the history has no record of the consumers' drain".into()),
        }
    }
}

/// Builds each producer's ledger from its messages, visited in (producer, seq) order.
#[derive(Debug, Default)]
pub(crate) struct LedgerCounter {
    ledger: Ledger,
}

impl LedgerCounter {
    pub fn observe(&mut self, producer: u32, seq: u64, sent: bool) {
        if !sent {
            return;
        }
        if self.ledger.producers.last().is_none_or(|p| p.producer != producer) {
            self.ledger.producers.push(ProducerLedger { producer, ..ProducerLedger::default() });
        }
        let p = self.ledger.producers.last_mut().expect("pushed above");
        if seq != p.outcomes && p.first_gap.is_none() {
            p.first_gap = Some(p.outcomes);
        }
        p.outcomes += 1;
        p.next_seq = seq + 1;
    }

    pub fn finish(mut self) -> Ledger {
        self.ledger.gaps = self.ledger.producers.iter().map(|p| p.next_seq - p.outcomes).sum();
        self.ledger
    }
}

/// Evidence from the context events of a history (in file order) and the producers' ledgers.
pub(crate) fn gather(mut context: Vec<(Event, LinePosition)>, ledger: Ledger, acks: AckSpan) -> Evidence {
    context.sort_by_key(|(_, position)| *position);
    let mut cell = None;
    let mut step_events: BTreeMap<u32, StepEvent> = BTreeMap::new();
    let mut faults: Vec<FaultEvent> = Vec::new();
    let mut reads: BTreeMap<i32, ReadEvent> = BTreeMap::new();
    let mut drain = None;
    let mut aborted = None;
    let mut producers: BTreeMap<u32, ProducerRun> = BTreeMap::new();
    let mut killed_at_stop = Vec::new();
    for (event, _) in context {
        match event {
            Event::Worker(w) if w.role == "consumer" && w.state == "killed" => {
                if drain.as_ref().is_some_and(|d: &DrainEvent| w.time_ms >= d.time_ms) {
                    killed_at_stop.push(w.id);
                }
            }
            Event::Worker(w) if w.role == "producer" => {
                let run = producers.entry(w.id).or_insert_with(|| ProducerRun { producer: w.id, ..ProducerRun::default() });
                match w.state.as_str() {
                    "ready" => {
                        run.ready = true;
                        run.ended = None;
                    }
                    "stopped" | "exited" | "killed" => run.ended = Some(w.state),
                    _ => {}
                }
            }
            Event::Cell(c) => cell = Some(c),
            Event::Step(s) => {
                step_events.insert(s.step, s);
            }
            Event::Fault(f) => faults.push(f),
            Event::Read(r) => {
                reads.insert(r.partition, r);
            }
            Event::Drain(d) => drain = Some(d),
            Event::Abort(a) => aborted = Some(a.reason),
            _ => {}
        }
    }
    let planned: Vec<FaultStep> = cell.as_ref().map(|c: &CellEvent| c.steps.clone()).unwrap_or_default();
    let steps = steps(&planned, &step_events, &faults);
    let read = read(cell.as_ref(), reads);
    let exercise = Exercise {
        producers: producers.into_values().collect(),
        acked: acks.acked,
        first_ack_ms: acks.first_ms,
        last_ack_ms: acks.last_ms,
    };
    let mut evidence =
        Evidence { cell, steps, read, drain, ledger, aborted, exercise, killed_at_stop, ..Evidence::default() };
    if let Some(cell) = evidence.cell.clone() {
        evidence.outage = outage(&cell, &evidence.steps);
        evidence.deviations = deviations(&cell, &evidence);
    }
    evidence
}

fn steps(planned: &[FaultStep], fired: &BTreeMap<u32, StepEvent>, faults: &[FaultEvent]) -> Vec<StepEvidence> {
    planned
        .iter()
        .enumerate()
        .map(|(i, plan)| {
            let i = i as u32;
            let label = format!("step {} ({} {})", i + 1, plan.action, plan.written_target());
            let event = fired.get(&i);
            let mut victims: Vec<VictimEvidence> = Vec::new();
            for f in faults.iter().filter(|f| f.step == Some(i)) {
                let index = match victims.iter().position(|v| v.target == f.target) {
                    Some(index) => index,
                    None => {
                        victims.push(VictimEvidence { target: f.target.clone(), ..VictimEvidence::default() });
                        victims.len() - 1
                    }
                };
                let v = &mut victims[index];
                let detail = f.detail.clone().unwrap_or_default();
                match f.phase {
                    FaultPhase::Start => {
                        v.applied_ms = Some(f.time_ms);
                        v.observed_after_ms = f.took_ms;
                        v.discarded_bytes = f.discarded();
                    }
                    FaultPhase::End => {
                        v.healed_ms = Some(f.time_ms);
                        v.heal_took_ms = f.took_ms;
                    }
                    FaultPhase::Failed => v.problem = Some(format!("could not be applied to {}: {detail}", f.target)),
                    FaultPhase::HealFailed => {
                        v.problem = Some(format!("{} of {} failed: {detail}", plan.action.heal_verb(), f.target))
                    }
                }
            }
            for v in &mut victims {
                if v.problem.is_none() && v.applied_ms.is_some() && v.healed_ms.is_none() {
                    v.problem = Some(format!("{} was never healed", v.target));
                }
            }
            let problem = match event {
                None => Some(format!("{label} left no record: the run ended before it")),
                Some(e) if e.state == StepState::NotFired => Some(format!("{label} did not fire: {}", e.why)),
                Some(_) if victims.is_empty() => Some(format!("{label} fired but hit nothing")),
                Some(_) => victims.iter().find_map(|v| v.problem.as_ref()).map(|p| format!("{label} {p}")),
            };
            StepEvidence {
                step: i,
                action: plan.action,
                target: plan.written_target().to_string(),
                planned: plan.firing(),
                fired_ms: event.filter(|e| e.state == StepState::Fired).map(|e| e.time_ms),
                why: event.map(|e| e.why.clone()),
                victims,
                problem,
            }
        })
        .collect()
}

fn read(cell: Option<&CellEvent>, reads: BTreeMap<i32, ReadEvent>) -> ReadEvidence {
    let partitions: Vec<ReadEvent> = reads.into_values().collect();
    if partitions.is_empty() {
        return ReadEvidence {
            partitions,
            complete: false,
            problem: Some("the history has no record of the final read of the log".into()),
        };
    }
    let mut unfinished: Vec<String> = partitions
        .iter()
        .filter(|r| r.reached < r.high)
        .map(|r| format!("partition {} at {} of {}", r.partition, r.reached, r.high))
        .collect();
    if let Some(cell) = cell {
        for p in 0..cell.partitions as i32 {
            if !partitions.iter().any(|r| r.partition == p) {
                unfinished.push(format!("partition {p} not read"));
            }
        }
    }
    // The harness's topic is fresh: a log that no longer starts at 0 lost records to retention,
    // DeleteRecords or compaction, and the read cannot vouch for them.
    let mut truncated: Vec<String> = partitions
        .iter()
        .filter(|r| r.low > 0)
        .map(|r| format!("partition {} starts at offset {}", r.partition, r.low))
        .collect();
    truncated.extend(
        partitions
            .iter()
            .filter(|r| r.rewound > 0)
            .map(|r| format!("partition {}: {} records came again below offsets already read", r.partition, r.rewound)),
    );
    let complete = unfinished.is_empty() && truncated.is_empty();
    let problem = match (unfinished.is_empty(), truncated.is_empty()) {
        (true, true) => None,
        (false, _) => Some(format!(
            "the final read did not reach the end of the log ({}): acked records it missed would count as lost",
            unfinished.join(", ")
        )),
        (true, false) => Some(format!(
            "the log changed under the final read ({}: retention, DeleteRecords, compaction, an offset reset or a truncation): acked records it missed would count as lost",
            truncated.join(", ")
        )),
    };
    ReadEvidence { partitions, complete, problem }
}

/// A victim window that makes a broker or controller unavailable: `[from, to)`, to = None if it
/// never healed.
struct Down {
    node: String,
    from: f64,
    to: Option<f64>,
}

fn outage(cell: &CellEvent, steps: &[StepEvidence]) -> Outage {
    let downs: Vec<Down> = steps
        .iter()
        .flat_map(|s| s.victims.iter())
        .filter(|v| NodeKind::parse(&v.target).is_some())
        .filter_map(|v| v.applied_ms.map(|from| Down { node: v.target.clone(), from, to: v.healed_ms }))
        .collect();
    let kind = |node: &str| NodeKind::parse(node).map(|(kind, _)| kind);
    let is_voter = |node: &str| kind(node) == Some(if cell.controllers == 0 { NodeKind::Broker } else { NodeKind::Controller });
    let max_brokers_down = most_at_once(downs.iter().filter(|d| kind(&d.node) == Some(NodeKind::Broker)));
    let voters = if cell.controllers == 0 { cell.brokers } else { cell.controllers } as u32;
    let may_lose = voters - (voters / 2 + 1);
    let quorum_lost = above(downs.iter().filter(|d| is_voter(&d.node)), may_lose);
    let (planned_brokers, planned_voters) = planned_down(cell);
    Outage {
        max_brokers_down,
        planned_max_brokers_down: planned_brokers,
        quorum_lost,
        quorum_loss_planned: planned_voters > may_lose,
    }
}

/// The most windows open at one moment.
fn most_at_once<'a>(downs: impl Iterator<Item = &'a Down>) -> u32 {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for d in downs {
        edges.push((d.from, 1));
        edges.push((d.to.unwrap_or(f64::INFINITY), -1));
    }
    // Ends before starts at the same moment: a heal and the next fault do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i32, 0i32);
    for (_, change) in edges {
        open += change;
        most = most.max(open);
    }
    most as u32
}

/// The spans during which more than `limit` windows are open.
fn above<'a>(downs: impl Iterator<Item = &'a Down>, limit: u32) -> Vec<(f64, Option<f64>)> {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for d in downs {
        edges.push((d.from, 1));
        edges.push((d.to.unwrap_or(f64::INFINITY), -1));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut spans = Vec::new();
    let mut open = 0i32;
    let mut since = None;
    for (at, change) in edges {
        open += change;
        match (open as i64 > limit as i64, since) {
            (true, None) => since = Some(at),
            (false, Some(from)) => {
                spans.push((from, at.is_finite().then_some(at)));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(from) = since {
        spans.push((from, None));
    }
    spans
}

/// Brokers and voters the schedule takes down at once, if every step fired at its time and
/// healed when due.
fn planned_down(cell: &CellEvent) -> (u32, u32) {
    let end = cell.duration_ms as f64;
    let mut brokers = Vec::new();
    let mut voters = Vec::new();
    for (i, step) in cell.steps.iter().enumerate() {
        let from = step.at_ms as f64;
        let to = match (step.heal_after_ms, step.heal_after_next) {
            (Some(h), _) => from + h as f64,
            // Healed just after the next step took effect: the two overlap.
            (None, true) => cell.steps.get(i + 1).map_or(end, |next| (next.at_ms as f64).max(from) + 1.0),
            (None, false) => end,
        };
        let kind = step.target.kind();
        let count = match step.target {
            FaultTarget::Followers(_) => u32::from(cell.replication_factor.saturating_sub(1)),
            FaultTarget::Brokers(mask) => mask.count_ones(),
            FaultTarget::AllBrokers => u32::from(cell.brokers),
            FaultTarget::Consumer(_) | FaultTarget::Producer(_) => 0,
            FaultTarget::Leader(_) | FaultTarget::Controller | FaultTarget::Broker(_) | FaultTarget::RandomBroker => 1,
        };
        let on_brokers = kind != FaultTargetKind::Controller || cell.controllers == 0;
        let on_voters = cell.controllers == 0 || kind == FaultTargetKind::Controller;
        for k in 0..count {
            let down = Down { node: format!("{i}-{k}"), from, to: Some(to) };
            if on_voters {
                voters.push(Down { node: down.node.clone(), from, to: Some(to) });
            }
            if on_brokers {
                brokers.push(down);
            }
        }
    }
    (most_at_once(brokers.iter()), most_at_once(voters.iter()))
}

fn deviations(cell: &CellEvent, evidence: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    let end = cell.duration_ms as f64;
    for (i, (plan, seen)) in cell.steps.iter().zip(&evidence.steps).enumerate() {
        let label = format!("step {} ({} {})", i + 1, seen.action, seen.target);
        if let Some(fired) = seen.fired_ms {
            let late = fired - plan.at_ms as f64;
            if !plan.is_triggered() && late > LATE_FIRE_MS {
                out.push(format!("{label} fired at {}, {} after its time", seconds(fired), seconds(late)));
            }
        }
        let applied = seen.victims.iter().filter_map(|v| v.applied_ms).fold(f64::INFINITY, f64::min);
        let due = match (plan.heal_after_ms, plan.heal_after_next) {
            (Some(h), _) => applied + h as f64,
            (None, true) => evidence
                .steps
                .get(i + 1)
                .and_then(|next| next.victims.iter().filter_map(|v| v.applied_ms).reduce(f64::min))
                .unwrap_or(end),
            (None, false) => end,
        };
        for v in &seen.victims {
            if let Some(took) = v.observed_after_ms.filter(|t| *t > SLOW_EFFECT_MS) {
                out.push(format!("{label}: {} {} took {} to be observed", seen.action, v.target, seconds(took)));
            }
            // Late is a heal that began late; one that takes long (a broker's JVM, its catching
            // up) is the fault lasting longer, which the fault window shows.
            if let Some(healed) = v.healed_ms {
                let began = healed - v.heal_took_ms.unwrap_or(0.0);
                if due.is_finite() && began - due > LATE_HEAL_MS {
                    let verb = plan.action.heal_verb();
                    out.push(format!(
                        "{label}: the {verb} of {} began at {}, {} after it was due (done at {})",
                        v.target,
                        seconds(began),
                        seconds(began - due),
                        seconds(healed)
                    ));
                }
            }
        }
    }
    let o = &evidence.outage;
    if o.max_brokers_down > o.planned_max_brokers_down {
        out.push(format!(
            "{} brokers were down at once; the schedule implies at most {}",
            o.max_brokers_down, o.planned_max_brokers_down
        ));
    }
    if !o.quorum_loss_planned {
        for (from, to) in &o.quorum_lost {
            let to = to.map_or("the end".to_string(), seconds);
            out.push(format!("the controller quorum was lost from {} to {to}, which the schedule does not imply", seconds(*from)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FaultActionKind, FaultTarget};

    fn cell(steps: Vec<FaultStep>) -> CellEvent {
        CellEvent {
            id: "c".into(),
            brokers: 3,
            controllers: 0,
            partitions: 2,
            replication_factor: 3,
            producers: 1,
            consumers: 1,
            duration_ms: 30_000,
            steps,
        }
    }

    fn at(event: Event, line: u64) -> (Event, LinePosition) {
        (event, LinePosition { chunk: 0, line })
    }

    fn step(step: u32, time_ms: f64, state: StepState) -> Event {
        Event::Step(StepEvent {
            time_ms,
            step,
            action: crate::model::FaultActionKind::Kill,
            target: "leader:0".into(),
            state,
            why: "at 10.0 s".into(),
        })
    }

    fn fault(step: u32, target: &str, time_ms: f64, phase: FaultPhase) -> Event {
        Event::Fault(FaultEvent {
            time_ms,
            action: crate::model::FaultActionKind::Kill,
            target: target.into(),
            phase,
            step: Some(step),
            spec: Some("leader:0".into()),
            took_ms: Some(100.0),
            detail: Some("x".into()),
            discarded_bytes: None,
        })
    }

    fn reads(partitions: i32, short: Option<i32>) -> Vec<Event> {
        (0..partitions)
            .map(|p| {
                let reached = if Some(p) == short { 5 } else { 10 };
                Event::Read(ReadEvent { partition: p, low: 0, high: 10, reached, records: reached as u64, rewound: 0 })
            })
            .collect()
    }

    fn kill_leader() -> Vec<FaultStep> {
        vec![FaultStep::timed(10_000, FaultActionKind::Kill, FaultTarget::Leader(0), Some(5_000))]
    }

    fn worker(role: &str, id: u32, state: &str, time_ms: f64) -> Event {
        Event::Worker(crate::history::WorkerEvent { time_ms, role: role.into(), id, state: state.into() })
    }

    /// Acks from 1 s to 29 s, and the one producer ready at 0 s and stopped at 30 s.
    fn exercised() -> AckSpan {
        AckSpan { acked: 100, first_ms: Some(1_000.0), last_ms: Some(29_000.0) }
    }

    fn gathered(events: Vec<Event>) -> Evidence {
        gathered_with(events, exercised())
    }

    fn gathered_with(mut events: Vec<Event>, acks: AckSpan) -> Evidence {
        events.push(worker("producer", 0, "ready", 0.0));
        events.push(worker("producer", 0, "stopped", 30_000.0));
        let context = events.into_iter().enumerate().map(|(i, e)| at(e, i as u64)).collect();
        gather(context, Ledger::default(), acks)
    }

    fn healed_leader_kill() -> Vec<Event> {
        let mut events = vec![
            Event::Cell(cell(kill_leader())),
            step(0, 10_000.0, StepState::Fired),
            fault(0, "broker-2", 10_001.0, FaultPhase::Start),
            fault(0, "broker-2", 16_000.0, FaultPhase::End),
        ];
        events.extend(reads(2, None));
        events
    }

    #[test]
    fn a_pass_needs_acked_writes_before_the_first_fault_and_after_the_last_heal() {
        let none = AckSpan::default();
        assert_eq!(
            gathered_with(healed_leader_kill(), none).problems(),
            ["no write was acknowledged: nothing shows the cluster took the workload"]
        );
        let late = AckSpan { acked: 10, first_ms: Some(12_000.0), last_ms: Some(29_000.0) };
        assert_eq!(
            gathered_with(healed_leader_kill(), late).problems(),
            ["no write was acknowledged before the first fault (at 10.0 s; the first ack at 12.0 s)"]
        );
        let early = AckSpan { acked: 10, first_ms: Some(1_000.0), last_ms: Some(15_000.0) };
        assert_eq!(
            gathered_with(healed_leader_kill(), early).problems(),
            ["no write was acknowledged after the last heal (at 16.0 s; the last ack at 15.0 s)"]
        );
        assert!(gathered(healed_leader_kill()).problems().is_empty());
    }

    #[test]
    fn a_pass_needs_every_planned_producer_ready_and_run_to_its_end() {
        let context = |extra: Vec<Event>| {
            let mut events = healed_leader_kill();
            events.extend(extra);
            events.into_iter().enumerate().map(|(i, e)| at(e, i as u64)).collect::<Vec<_>>()
        };
        let never = gather(context(vec![]), Ledger::default(), exercised());
        assert_eq!(never.problems(), ["producer 0 never reported ready: its client was not created"]);
        let exited = context(vec![worker("producer", 0, "ready", 0.0), worker("producer", 0, "exited", 3_000.0)]);
        assert_eq!(
            gather(exited, Ledger::default(), exercised()).problems(),
            ["producer 0 did not run to its end (its last state: exited)"]
        );
        // Killed by a step and restarted: its last life ran to the end.
        let restarted = context(vec![
            worker("producer", 0, "ready", 0.0),
            worker("producer", 0, "killed", 3_000.0),
            worker("producer", 0, "ready", 4_000.0),
            worker("producer", 0, "stopped", 30_000.0),
        ]);
        assert!(gather(restarted, Ledger::default(), exercised()).problems().is_empty());
    }

    #[test]
    fn a_log_deleted_from_its_start_or_read_twice_is_no_evidence() {
        let mut events = vec![Event::Cell(cell(vec![]))];
        events.push(Event::Read(ReadEvent { partition: 0, low: 4, high: 10, reached: 10, records: 6, rewound: 0 }));
        events.push(Event::Read(ReadEvent { partition: 1, low: 0, high: 10, reached: 10, records: 10, rewound: 3 }));
        let e = gathered(events);
        assert!(!e.read.complete);
        assert_eq!(
            e.problems(),
            ["the log changed under the final read (partition 0 starts at offset 4, partition 1: 3 records came again below offsets already read: retention, DeleteRecords, compaction, an offset reset or a truncation): acked records it missed would count as lost"]
        );
    }

    #[test]
    fn a_consumer_killed_at_the_final_stop_leaves_the_consumer_counts_unjudged() {
        let mut events = healed_leader_kill();
        events.push(Event::Drain(DrainEvent { time_ms: 40_000.0, caught_up: true, waited_ms: 10.0, detail: "0 records behind".into() }));
        events.push(worker("consumer", 0, "killed", 61_000.0));
        let e = gathered(events);
        assert!(e.problems().is_empty());
        assert!(e.consumer_problem().unwrap().starts_with("consumer(s) 0 did not stop in time after the drain"));
    }

    #[test]
    fn a_step_applied_and_healed_with_a_full_read_is_evidence() {
        let mut events = vec![
            Event::Cell(cell(kill_leader())),
            step(0, 10_000.0, StepState::Fired),
            fault(0, "broker-2", 10_001.0, FaultPhase::Start),
            fault(0, "broker-2", 16_000.0, FaultPhase::End),
        ];
        events.extend(reads(2, None));
        let e = gathered(events);
        assert_eq!(e.problems(), Vec::<String>::new());
        assert_eq!(e.steps[0].victims[0].applied_ms, Some(10_001.0));
        assert_eq!(e.outage.max_brokers_down, 1);
        assert_eq!(e.outage.planned_max_brokers_down, 1);
        assert!(e.outage.quorum_lost.is_empty());
        assert!(e.deviations.is_empty(), "{:?}", e.deviations);
    }

    #[test]
    fn a_step_that_failed_or_never_fired_is_no_evidence() {
        let mut failed = vec![
            Event::Cell(cell(kill_leader())),
            step(0, 10_000.0, StepState::Fired),
            fault(0, "broker-2", 10_001.0, FaultPhase::Failed),
        ];
        failed.extend(reads(2, None));
        let e = gathered(failed);
        assert_eq!(e.problems(), ["step 1 (kill leader:0) could not be applied to broker-2: x"]);
        assert_eq!(e.outage.max_brokers_down, 0, "a failed fault took nothing down");

        let mut never = vec![Event::Cell(cell(kill_leader())), step(0, 29_000.0, StepState::NotFired)];
        never.extend(reads(2, None));
        assert_eq!(gathered(never).problems(), ["step 1 (kill leader:0) did not fire: at 10.0 s"]);

        let mut silent = vec![Event::Cell(cell(kill_leader()))];
        silent.extend(reads(2, None));
        assert_eq!(gathered(silent).problems(), ["step 1 (kill leader:0) left no record: the run ended before it"]);

        let mut unhealed = vec![
            Event::Cell(cell(kill_leader())),
            step(0, 10_000.0, StepState::Fired),
            fault(0, "broker-2", 10_001.0, FaultPhase::Start),
            fault(0, "broker-2", 40_000.0, FaultPhase::HealFailed),
        ];
        unhealed.extend(reads(2, None));
        assert_eq!(gathered(unhealed).problems(), ["step 1 (kill leader:0) restart of broker-2 failed: x"]);
    }

    #[test]
    fn an_incomplete_read_or_a_gap_in_a_ledger_is_no_evidence() {
        let mut events = vec![Event::Cell(cell(vec![]))];
        events.extend(reads(1, Some(0)));
        let e = gathered(events);
        assert_eq!(
            e.problems(),
            ["the final read did not reach the end of the log (partition 0 at 5 of 10, partition 1 not read): acked records it missed would count as lost"]
        );
        let ledger = Ledger {
            producers: vec![ProducerLedger { producer: 0, outcomes: 9, next_seq: 10, first_gap: Some(4) }],
            gaps: 1,
        };
        let mut events = vec![at(Event::Cell(cell(vec![])), 0)];
        events.extend(reads(2, None).into_iter().map(|e| at(e, 1)));
        events.push(at(worker("producer", 0, "ready", 0.0), 2));
        events.push(at(worker("producer", 0, "stopped", 30_000.0), 3));
        let e = gather(events, ledger, exercised());
        assert_eq!(
            e.problems(),
            ["1 message(s) were sent without a recorded outcome (first: producer 0 seq 4): the ledger of seqs has gaps"]
        );
        assert_eq!(gathered(vec![]).problems().len(), 2, "no cell line and no read");
    }

    #[test]
    fn outages_beyond_the_plan_are_flagged() {
        // Planned: kill broker 1 at 5 s for 4 s, then broker 2 at 15 s for 4 s: one at a time.
        let plan = vec![
            FaultStep::timed(5_000, FaultActionKind::Stop, FaultTarget::Broker(1), Some(4_000)),
            FaultStep::timed(15_000, FaultActionKind::Stop, FaultTarget::Broker(2), Some(4_000)),
        ];
        let mut events = vec![
            Event::Cell(cell(plan)),
            step(0, 5_000.0, StepState::Fired),
            fault(0, "broker-1", 5_000.0, FaultPhase::Start),
            step(1, 15_000.0, StepState::Fired),
            fault(1, "broker-2", 15_000.0, FaultPhase::Start),
            // The first restart took until 45 s: both down from 15 s.
            fault(0, "broker-1", 45_000.0, FaultPhase::End),
            fault(1, "broker-2", 46_000.0, FaultPhase::End),
        ];
        events.extend(reads(2, None));
        let e = gathered_with(events, AckSpan { acked: 100, first_ms: Some(1_000.0), last_ms: Some(50_000.0) });
        assert_eq!(e.outage.max_brokers_down, 2);
        assert_eq!(e.outage.planned_max_brokers_down, 1);
        assert_eq!(e.outage.quorum_lost, [(15_000.0, Some(45_000.0))]);
        assert!(!e.outage.quorum_loss_planned);
        assert_eq!(
            e.deviations,
            [
                "step 1 (stop broker:1): the restart of broker-1 began at 44.9 s, 35.9 s after it was due (done at 45.0 s)",
                "step 2 (stop broker:2): the restart of broker-2 began at 45.9 s, 26.9 s after it was due (done at 46.0 s)",
                "2 brokers were down at once; the schedule implies at most 1",
                "the controller quorum was lost from 15.0 s to 45.0 s, which the schedule does not imply",
            ]
        );
        assert!(e.problems().is_empty(), "deviations are flagged, not a lack of evidence");
    }

    #[test]
    fn paused_followers_and_a_killed_leader_lose_the_quorum_by_plan() {
        let mut pause = FaultStep::timed(10_000, FaultActionKind::Pause, FaultTarget::Followers(0), None);
        pause.heal_after_next = true;
        let mut kill = FaultStep::timed(10_000, FaultActionKind::Kill, FaultTarget::Leader(0), Some(10_000));
        kill.when = Some(crate::model::Trigger::Acked { count: 500, partition: 0 });
        let (brokers, voters) = planned_down(&cell(vec![pause, kill]));
        assert_eq!((brokers, voters), (3, 3), "the pause heals just after the kill takes effect");
    }

    #[test]
    fn ledgers_find_the_first_seq_without_an_outcome() {
        let mut counter = LedgerCounter::default();
        for (producer, seq) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (1, 3), (1, 6)] {
            counter.observe(producer, seq, true);
        }
        counter.observe(2, 0, false);
        let ledger = counter.finish();
        assert_eq!(
            ledger.producers,
            [
                ProducerLedger { producer: 0, outcomes: 3, next_seq: 3, first_gap: None },
                ProducerLedger { producer: 1, outcomes: 4, next_seq: 7, first_gap: Some(1) },
            ]
        );
        assert_eq!(ledger.gaps, 3);
    }

    #[test]
    fn consumer_counts_need_a_drain_that_caught_up() {
        let mut e = gathered(vec![Event::Cell(cell(vec![]))]);
        assert_eq!(e.consumer_problem().unwrap(), "the history has no record of the consumers' drain");
        e.drain = Some(DrainEvent { time_ms: 1.0, caught_up: false, waited_ms: 60_000.0, detail: "35 records behind".into() });
        assert!(e.consumer_problem().unwrap().starts_with("the consumer group did not catch up within 60.0 s (35 records behind)"));
        e.drain = Some(DrainEvent { time_ms: 1.0, caught_up: true, waited_ms: 1.0, detail: "0 records behind".into() });
        assert_eq!(e.consumer_problem(), None);
    }
}
