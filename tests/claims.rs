//! The seed claims, each against a real cluster through `kafka-chaos run`: the whole pipeline
//! (scenario, cluster, producers, consumer processes, faults, history, checker, expectations).
//! Run one at a time (`--test-threads=1`).

mod common;

use common::{require_docker, BIN};
use kafka_chaos::summary::{Summary, Verdict};
use std::process::Command;

/// Run a scenario into a temporary directory; return the summary and the exit code.
fn run(scenario: &str, extra: &[&str]) -> (Summary, i32) {
    require_docker();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("result");
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
    for cell in &summary.cells {
        assert!(dir.join("cells").join(&cell.id).join("history.jsonl").exists());
        assert!(dir.join("cells").join(&cell.id).join("analysis.json").exists());
    }
    for file in ["summary.csv", "report.md", "report.html", "junit.xml", "plan.json"] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    (summary, output.status.code().unwrap_or(-1))
}

fn counts(summary: &Summary, id_part: &str) -> Vec<kafka_chaos::checker::Counts> {
    let found: Vec<_> = summary.cells.iter().filter(|c| c.id.contains(id_part)).map(|c| {
        assert_ne!(c.verdict, Verdict::Unknown, "cell {} could not be judged: {:?}", c.id, c.notes);
        let counts = c.counts.expect("counts");
        assert_eq!(counts.acked + counts.failed + counts.unknown, counts.sent, "{}: outcomes do not add up", c.id);
        assert!(counts.acked > 1000, "{}: too little traffic to judge: {counts:?}", c.id);
        counts
    }).collect();
    assert!(!found.is_empty(), "no cell matching {id_part}");
    found
}

#[test]
fn acks_all_idempotent_loses_nothing_when_the_leader_is_killed() {
    let (summary, code) = run("acks-all-leader-kill", &[]);
    for c in counts(&summary, "acks-all") {
        println!("acks=all idempotent, leader SIGKILL: {c:?}");
        assert_eq!((c.lost, c.duplicated, c.reordered, c.unexpected), (0, 0, 0, 0), "{c:?}");
    }
    assert_eq!(code, 0);
}

#[test]
fn acks_1_loses_acked_writes_in_three_runs_of_three() {
    let (summary, code) = run("acks-1-paused-followers", &["--repeat", "3"]);
    let runs = counts(&summary, "acks-1");
    assert_eq!(runs.len(), 3);
    for c in &runs {
        println!("acks=1, followers paused, leader SIGKILL: lost {} of {} acked", c.lost, c.acked);
        assert!(c.lost > 0, "{c:?}");
    }
    assert_eq!(code, 0);
}

#[test]
fn commit_modes_under_a_consumer_kill() {
    let (summary, code) = run("consumer-kill", &[]);
    for mode in ["before-process", "auto"] {
        for c in counts(&summary, &format!("commit-{mode}")) {
            println!("{mode}, consumer SIGKILL: unconsumed {} redelivered {}", c.unconsumed, c.redelivered);
            assert!(c.unconsumed > 0, "{mode}: {c:?}");
        }
    }
    for c in counts(&summary, "commit-manual-sync") {
        println!("manual-sync, consumer SIGKILL: unconsumed {} redelivered {}", c.unconsumed, c.redelivered);
        assert_eq!(c.unconsumed, 0, "{c:?}");
        assert!(c.redelivered > 0, "{c:?}");
    }
    assert_eq!(code, 0);
}
