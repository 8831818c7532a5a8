//! The runner on a fake cluster, without Docker: what the history says when a fault fails, when
//! a heal fails, and when the group does not catch up.

use super::schedule::{Schedule, Targets};
use super::*;
use crate::cluster::fake::FakeCluster;
use crate::history::{FaultPhase, StepState};
use crate::scenario::{Ability, FaultActionKind, FaultStep, FaultTarget};

/// Run `steps` on `cluster` with no clients; returns every event the schedule sent.
async fn schedule(cluster: Arc<FakeCluster>, steps: Vec<FaultStep>) -> Vec<Event> {
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel::<TimedEvent>();
    let (end, ended) = watch::channel(false);
    let targets = Targets {
        cluster,
        topic: "kc-test".into(),
        consumers: Arc::new(Mutex::new(Vec::new())),
        producers: Arc::new(Mutex::new(Vec::new())),
        progress: Vec::new(),
        partitions: 1,
    };
    let run = Schedule { steps, targets: Arc::new(targets), events, clock: Instant::now(), duration: Duration::from_millis(200), ended };
    let task = tokio::spawn(run.run());
    // The end of the run comes after the steps had their time: heals left for the end happen.
    tokio::time::sleep(Duration::from_millis(200)).await;
    end.send_replace(true);
    tokio::time::timeout(Duration::from_secs(10), task).await.expect("the schedule ends").expect("no panic");
    let mut out = Vec::new();
    while let Ok(timed) = received.try_recv() {
        out.push(timed.event);
    }
    out
}

fn steps_of(events: &[Event]) -> Vec<(u32, StepState, String)> {
    events.iter().filter_map(|e| match e { Event::Step(s) => Some((s.step, s.state, s.why.clone())), _ => None }).collect()
}

fn faults_of(events: &[Event]) -> Vec<(String, FaultPhase, String)> {
    events
        .iter()
        .filter_map(|e| match e { Event::Fault(f) => Some((f.target.clone(), f.phase, f.detail.clone().unwrap_or_default())), _ => None })
        .collect()
}

#[tokio::test]
async fn a_fault_that_fails_is_recorded_and_stops_the_schedule() {
    let cluster = Arc::new(FakeCluster::failing(&[Ability::Kill]));
    let steps = vec![
        FaultStep::timed(0, FaultActionKind::Kill, FaultTarget::Leader(0), Some(10)),
        FaultStep::timed(0, FaultActionKind::Pause, FaultTarget::Broker(2), None),
    ];
    let events = schedule(cluster.clone(), steps).await;
    let faults = faults_of(&events);
    assert_eq!(faults.len(), 1, "{faults:?}");
    let (target, phase, detail) = &faults[0];
    assert_eq!((target.as_str(), *phase), ("broker-1", FaultPhase::Failed), "the leader of partition 0 is broker 1");
    assert!(detail.contains("told to fail kill"), "{detail}");
    let steps = steps_of(&events);
    assert_eq!(steps[0].1, StepState::Fired);
    assert_eq!((steps[1].0, steps[1].1), (1, StepState::NotFired));
    assert!(steps[1].2.contains("step 1 did not take effect"), "{}", steps[1].2);
    // Nothing was paused, and nothing is left to heal.
    assert_eq!(*cluster.performed.lock().unwrap(), vec![(Ability::Kill, 1, false)]);
    assert!(cluster.faulted().is_empty());
}

#[tokio::test]
async fn a_heal_that_fails_is_recorded_and_leaves_the_cluster_unhealthy() {
    let cluster = Arc::new(FakeCluster::failing(&[Ability::Restart]));
    let steps = vec![FaultStep::timed(0, FaultActionKind::Kill, FaultTarget::Leader(0), Some(10))];
    let events = schedule(cluster.clone(), steps).await;
    let faults = faults_of(&events);
    let phases: Vec<(&str, FaultPhase)> = faults.iter().map(|(t, p, _)| (t.as_str(), *p)).collect();
    assert_eq!(phases, vec![("broker-1", FaultPhase::Start), ("broker-1", FaultPhase::HealFailed)]);
    assert!(faults[1].2.starts_with("restart failed"), "{}", faults[1].2);
    // The runner's last resort fails the same way, and the next cell must not get this cluster.
    assert_eq!(cluster.faulted(), vec![(1, FaultActionKind::Kill)]);
    assert!(crate::cluster::heal_all(cluster.as_ref()).await.is_err());
    assert!(cluster.check_health().await.is_err());
}

#[tokio::test]
async fn a_heal_that_works_leaves_nothing_in_force() {
    let cluster = Arc::new(FakeCluster::default());
    let steps = vec![
        FaultStep::timed(0, FaultActionKind::Isolate, FaultTarget::Followers(0), Some(10)),
        FaultStep::timed(50, FaultActionKind::Kill, FaultTarget::Controller, None),
    ];
    let events = schedule(cluster.clone(), steps).await;
    let phases: Vec<(String, FaultPhase)> = faults_of(&events).into_iter().map(|(t, p, _)| (t, p)).collect();
    let expected = [("broker-2", FaultPhase::Start), ("broker-3", FaultPhase::Start), ("broker-2", FaultPhase::End), ("broker-3", FaultPhase::End)];
    for (target, phase) in expected {
        assert!(phases.contains(&(target.to_string(), phase)), "{target} {phase:?} in {phases:?}");
    }
    // The controller's kill is healed at the end of the run.
    assert!(phases.contains(&("broker-1".to_string(), FaultPhase::End)), "{phases:?}");
    assert!(cluster.faulted().is_empty());
}

#[tokio::test]
async fn a_group_that_never_catches_up_ends_the_drain_at_its_timeout() {
    let behind = FakeCluster::behind(5);
    let began = Instant::now();
    let nobody: Shared<WorkerProcess> = Arc::new(Mutex::new(Vec::new()));
    let drained = drain(&behind, &nobody, "g", "kc-test", Duration::from_millis(300), None).await;
    assert_eq!(drained, Err("5 records behind in commits, 100 not processed".to_string()));
    // With transactions, the end is past the last record, not the high watermark: the group
    // committed up to offset 95, and the records end at 95 (markers follow).
    let ends = std::collections::BTreeMap::from([(0, Some(95))]);
    let drained = drain(&behind, &nobody, "g", "kc-test", Duration::from_millis(300), Some(&ends)).await;
    assert_eq!(drained, Err("0 records behind in commits, 95 not processed".to_string()));
    assert!(began.elapsed() >= Duration::from_millis(300));
    // Committed to the end, but nothing processed: not drained.
    let drained = drain(&FakeCluster::default(), &nobody, "g", "kc-test", Duration::from_millis(300), None).await;
    assert_eq!(drained, Err("0 records behind in commits, 100 not processed".to_string()));
}

#[tokio::test]
async fn a_power_cut_of_all_brokers_hits_each_and_one_failure_does_not_hide_the_others() {
    let cluster = Arc::new(FakeCluster::default());
    let steps = vec![FaultStep::timed(0, FaultActionKind::PowerLoss, FaultTarget::AllBrokers, Some(10))];
    let events = schedule(cluster.clone(), steps).await;
    let started: Vec<String> =
        faults_of(&events).into_iter().filter(|(_, p, _)| *p == FaultPhase::Start).map(|(t, _, _)| t).collect();
    assert_eq!(started, ["broker-1", "broker-2", "broker-3"]);
    let restarts = cluster.performed.lock().unwrap().iter().filter(|(a, _, _)| *a == Ability::Restart).count();
    assert_eq!(restarts, 3);
    assert!(cluster.faulted().is_empty());

    // At once: a cut that fails on one broker is still applied to the others, and recorded.
    let cluster = Arc::new(FakeCluster::failing(&[Ability::PowerLossControl]));
    let steps = vec![FaultStep::timed(0, FaultActionKind::PowerLossControl, FaultTarget::Brokers(0b1010), Some(10))];
    let events = schedule(cluster.clone(), steps).await;
    let phases: Vec<(String, FaultPhase)> = faults_of(&events).into_iter().map(|(t, p, _)| (t, p)).collect();
    assert_eq!(phases, [("broker-1".to_string(), FaultPhase::Failed), ("broker-3".to_string(), FaultPhase::Failed)]);
}

#[test]
fn processing_that_has_not_reached_the_end_is_not_drained() {
    // Committed to the end in `auto` mode, but 30 records of partition 1 still buffered.
    assert_eq!(unprocessed(&[(0, 100), (0, 80)], &[Some(100), Some(50)]), 30);
    assert_eq!(unprocessed(&[(0, 100), (0, 0)], &[Some(100), None]), 0);
    assert_eq!(unprocessed(&[(0, 10)], &[None]), 10);
}

#[tokio::test]
async fn a_rolling_restart_longer_than_the_workload_runs_to_its_end() {
    // Each broker stopped in turn, the next once the previous one is back; the workload's
    // planned duration (10 ms) is over long before. Nothing ends the run: every step fires.
    let cluster = Arc::new(FakeCluster::default());
    let step = |broker: u32, after_heal: bool| FaultStep {
        after_heal,
        within_ms: 5_000,
        ..FaultStep::timed(0, FaultActionKind::Stop, FaultTarget::Broker(broker), Some(100))
    };
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel::<TimedEvent>();
    let (_end, ended) = watch::channel(false);
    let targets = Targets {
        cluster: cluster.clone(),
        topic: "kc-test".into(),
        consumers: Arc::new(Mutex::new(Vec::new())),
        producers: Arc::new(Mutex::new(Vec::new())),
        progress: Vec::new(),
        partitions: 1,
    };
    let steps = vec![step(1, false), step(2, true), step(3, true)];
    let run = Schedule { steps, targets: Arc::new(targets), events, clock: Instant::now(), duration: Duration::from_millis(10), ended };
    tokio::time::timeout(Duration::from_secs(10), run.run()).await.expect("the schedule ends by itself");
    let mut fired = Vec::new();
    while let Ok(timed) = received.try_recv() {
        if let Event::Fault(f) = timed.event {
            fired.push((f.target, f.phase));
        }
    }
    let expected: Vec<(String, FaultPhase)> = (1..=3)
        .flat_map(|b| [(format!("broker-{b}"), FaultPhase::Start), (format!("broker-{b}"), FaultPhase::End)])
        .collect();
    assert_eq!(fired, expected);
    assert!(cluster.faulted().is_empty());
}
