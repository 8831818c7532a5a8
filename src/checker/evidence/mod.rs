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

mod outage;
mod read;
mod steps;
#[cfg(test)]
mod tests;

use outage::outage;
use read::read;
use steps::{deviations, steps};

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
