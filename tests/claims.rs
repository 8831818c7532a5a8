//! The seed claims, each against a real cluster through `kafka-chaos run`: the whole pipeline
//! (scenario, cluster, producers, consumer processes, faults, history, checker, judge). Each
//! recipe fires its fault on a state the harness observes, so each test asserts what that state
//! makes certain, and first that the fault really happened (every step fired, took effect on a
//! victim and healed, as the history records it). Run one at a time (`--test-threads=1`).

mod common;

use common::{require_docker, BIN};
use kafka_chaos::checker::{read_analysis, Analysis, Counts};
use kafka_chaos::summary::{Summary, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    summary: Summary,
    code: i32,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Run a scenario into a temporary directory.
fn run(scenario: &str, extra: &[&str]) -> Run {
    require_docker();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("result");
    let output = Command::new(BIN)
        .args(["run", &format!("tests/claims/{scenario}.toml"), "--out"])
        .arg(&dir)
        .args(extra)
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    let summary = Summary::load(&dir).unwrap_or_else(|e| panic!("no summary ({e}):\n{stdout}\n{stderr}"));
    assert!(summary.complete, "the run did not complete:\n{stderr}");
    for file in ["summary.csv", "report.md", "report.html", "junit.xml", "plan.json"] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    Run { summary, code: output.status.code().unwrap_or(-1), dir, _tmp: tmp }
}

/// The counts of every cell whose id contains `id_part`, after checking that each was judged on
/// full evidence: every step fired and took effect on a victim and healed, the log was read to
/// its end, every ledger holds.
fn judged(run: &Run, id_part: &str) -> Vec<(Counts, Analysis)> {
    let found: Vec<_> = run
        .summary
        .cells
        .iter()
        .filter(|c| c.id.contains(id_part))
        .map(|c| {
            assert_ne!(c.verdict, Verdict::Unknown, "cell {} could not be judged: {:?}", c.id, c.notes);
            let analysis = read_analysis(&run.dir.join("cells").join(&c.id)).unwrap();
            let evidence = &analysis.evidence;
            assert!(evidence.problems().is_empty(), "{}: {:?}", c.id, evidence.problems());
            for step in &evidence.steps {
                assert!(step.fired_ms.is_some(), "{}: step {} did not fire", c.id, step.step + 1);
                assert!(!step.victims.is_empty(), "{}: step {} hit nothing", c.id, step.step + 1);
                for v in &step.victims {
                    assert!(v.applied_ms.is_some() && v.healed_ms.is_some(), "{}: {v:?}", c.id);
                }
            }
            let counts = c.counts.expect("counts");
            assert!(counts.acked > 1000, "{}: too little traffic to judge: {counts:?}", c.id);
            (counts, analysis)
        })
        .collect();
    assert!(!found.is_empty(), "no cell matching {id_part}");
    found
}

/// The step's `why`: what the harness saw when it fired.
fn why(analysis: &Analysis, step: usize) -> &str {
    analysis.evidence.steps[step].why.as_deref().unwrap_or_default()
}

#[test]
fn acks_all_idempotent_loses_nothing_when_the_leader_is_killed() {
    let run = run("acks-all-leader-kill", &[]);
    for (c, a) in &judged(&run, "acks-all") {
        println!("acks=all idempotent, leader SIGKILL: {c:?}");
        assert_eq!(a.evidence.steps[0].victims.len(), 1, "one leader killed");
        assert!(a.evidence.steps[0].victims[0].target.starts_with("broker-"));
        assert_eq!((c.lost, c.duplicated, c.reordered, c.unexpected), (0, 0, 0, 0), "{c:?}");
    }
    assert_eq!(run.code, 0);
}

/// The leader alone acknowledged 500 writes to partition 0 before it was killed; the follower
/// that becomes leader has none of them. A handful may have reached a follower just before it
/// froze, so half is a bound no machine can miss.
#[test]
fn acks_1_loses_acked_writes_in_three_runs_of_three() {
    let run = run("acks-1-paused-followers", &["--repeat", "3"]);
    let runs = judged(&run, "acks-1");
    assert_eq!(runs.len(), 3);
    for (c, a) in &runs {
        println!("acks=1, followers paused, leader SIGKILL once 500 acked: lost {} of {} acked; {}", c.lost, c.acked, why(a, 1));
        assert_eq!(a.evidence.steps[0].victims.len(), 2, "both followers frozen");
        assert!(why(a, 1).starts_with("500 writes to partition 0 acked"), "{}", why(a, 1));
        assert!(c.lost >= 250, "{c:?}");
    }
    assert_eq!(run.code, 0);
}

/// Killed holding 200 records committed but not processed: the group never processes them.
/// Killed having processed 50 records not committed: the group processes them again.
#[test]
fn commit_modes_under_a_consumer_kill() {
    let run = run("consumer-kill", &[]);
    for mode in ["before-process", "auto"] {
        for (c, a) in &judged(&run, &format!("commit-{mode}")) {
            println!("{mode}, consumer SIGKILL: unconsumed {} redelivered {}; {}", c.unconsumed, c.redelivered, why(a, 0));
            assert!(why(a, 0).contains("committed, unprocessed records"), "{}", why(a, 0));
            assert!(c.unconsumed >= 200, "{mode}: {c:?}");
        }
    }
    for (c, a) in &judged(&run, "commit-manual-sync") {
        println!("manual-sync, consumer SIGKILL: unconsumed {} redelivered {}; {}", c.unconsumed, c.redelivered, why(a, 0));
        assert!(why(a, 0).contains("processed, uncommitted records"), "{}", why(a, 0));
        assert_eq!(c.unconsumed, 0, "{c:?}");
        assert!(c.redelivered >= 50, "{c:?}");
    }
    assert_eq!(run.code, 0);
}

/// A step whose condition never holds does not fire: no fault, so no verdict, and the run says
/// so with exit code 3 instead of passing a cell that was never put to the test.
#[test]
fn a_step_that_cannot_fire_leaves_the_cell_without_a_verdict() {
    let run = run("unfireable", &[]);
    let cell = &run.summary.cells[0];
    assert_eq!(cell.verdict, Verdict::Unknown, "{:?}", cell.notes);
    assert!(cell.notes.iter().any(|n| n.contains("did not fire")), "{:?}", cell.notes);
    assert!(cell.expectations.iter().all(|e| !e.judged), "{:?}", cell.expectations);
    let analysis = read_analysis(&Path::new(&run.dir).join("cells").join(&cell.id)).unwrap();
    assert!(analysis.faults.is_empty(), "no fault window for a step that never fired");
    assert_eq!(run.code, 3);
}

#[test]
fn transactional_producers_of_every_client_tear_and_lose_nothing_when_killed_mid_transaction() {
    let run = run("transactions", &[]);
    assert_eq!(run.code, 0, "every cell passes");
    for client in ["rdkafka", "sarama", "java"] {
        for (counts, analysis) in judged(&run, &format!("client-{client}")) {
            assert_eq!((counts.lost, counts.duplicated, counts.aborted_read, counts.torn), (0, 0, 0, 0), "{client}: {counts:?}");
            let txns = analysis.transactions.as_ref().unwrap_or_else(|| panic!("{client}: no transactions recorded")).summary;
            assert!(txns.committed > 10 && txns.aborted > 2, "{client}: {txns:?}");
            // The kill found the transaction open: it is unknown, and the log resolves it (whole
            // or none, never in part).
            assert!(why(&analysis, 0).contains("transaction open"), "{client}: {}", why(&analysis, 0));
            assert!(txns.unknown >= 1 && txns.unknown_whole + txns.unknown_none == txns.unknown, "{client}: {txns:?}");
            let cell = run.summary.cells.iter().find(|c| c.id.contains(&format!("client-{client}"))).unwrap();
            let history = std::fs::read_to_string(run.dir.join("cells").join(&cell.id).join("history.jsonl")).unwrap();
            assert!(history.contains("the producer was killed with the transaction open"), "{client}: no open transaction at the kill");
        }
    }
}
