use super::*;
use super::outage::planned_down;
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
