//! `kafka-chaos report` and `kafka-chaos compare` on result directories made here: histories
//! written by hand, analysed by `kafka-chaos analyze`, and a summary.json beside them. No cluster.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_kafka-chaos");

/// Seqs 2 and 3 are acked during the leader kill and are not in the log.
const LOSSY: &str = r#"{"type":"send","time_ms":100,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":4}
{"type":"send","time_ms":600,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1,"latency_ms":5}
{"type":"fault","time_ms":1000,"action":"kill","target":"broker-2","phase":"start","spec":"leader:0"}
{"type":"send","time_ms":1500,"producer":0,"seq":2,"outcome":"acked","partition":0,"offset":2,"latency_ms":300}
{"type":"send","time_ms":2500,"producer":0,"seq":3,"outcome":"acked","partition":0,"offset":3,"latency_ms":800}
{"type":"fault","time_ms":3000,"action":"kill","target":"broker-2","phase":"end","spec":"leader:0"}
{"type":"processed","time_ms":200,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}
{"type":"processed","time_ms":700,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}
{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}
{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}
"#;

const CLEAN: &str = r#"{"type":"send","time_ms":100,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":4}
{"type":"send","time_ms":600,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1,"latency_ms":5}
{"type":"processed","time_ms":200,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}
{"type":"processed","time_ms":700,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}
{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}
{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}
"#;

fn kafka_chaos(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One cell: its history analysed into `cells/<id>/`; returns the counts and a summary entry.
fn cell(dir: &Path, id: &str, acks: &str, history: &str) -> Value {
    let cell_dir = dir.join("cells").join(id);
    std::fs::create_dir_all(&cell_dir).unwrap();
    std::fs::write(cell_dir.join("history.jsonl"), history).unwrap();
    let out = kafka_chaos(&["analyze", cell_dir.to_str().unwrap()]);
    assert!(out.status.success(), "analyze failed: {}", text(&out.stderr));
    let analysis: Value = serde_json::from_str(&std::fs::read_to_string(cell_dir.join("analysis.json")).unwrap()).unwrap();
    let counts = analysis["counts"].clone();
    let lost = counts["lost"].as_u64().unwrap();
    json!({
        "id": id,
        "config": { "acks": acks, "fault": "leader-kill" },
        "counts": counts,
        "expectations": [{
            "rule": "lost = 0", "passed": lost == 0, "actual": lost, "reported": true,
            "when": "", "source": "scenarios/t.toml:9:1", "expectation": 0
        }],
        "verdict": if lost == 0 { "pass" } else { "fail" },
        "notes": [],
        "duration_s": 30.0
    })
}

fn write_summary(dir: &Path, cells: Vec<Value>) {
    let summary = json!({
        "scenario": "t", "description": "acks under a leader kill", "seed": 7,
        "started": "2025-01-01T00:00:00Z", "wall_time_s": 95.0, "complete": true,
        "image": "apache/kafka:4.1.1", "cells": cells
    });
    std::fs::write(dir.join("summary.json"), serde_json::to_string_pretty(&summary).unwrap()).unwrap();
}

/// A result directory with a lossy cell, a clean cell and one that never ran.
fn result_dir(dir: &Path) {
    let never_ran = json!({
        "id": "acks-all_broker-stop", "config": { "acks": "all", "fault": "broker-stop" },
        "counts": null, "expectations": [], "verdict": "unknown",
        "notes": ["the cell could not be run: broker-3 did not start"], "duration_s": 2.0
    });
    let cells = vec![cell(dir, "acks-1_leader-kill", "1", LOSSY), cell(dir, "acks-all_leader-kill", "all", CLEAN), never_ran];
    write_summary(dir, cells);
}

#[test]
fn report_renders_every_file_without_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    result_dir(dir.path());
    let out = kafka_chaos(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for file in ["summary.csv", "report.md", "report.html", "junit.xml", "charts/outcomes.png", "charts/timeline-acks-1_leader-kill.svg"] {
        let path = dir.path().join(file);
        assert!(stdout.contains(&format!("wrote {}", path.display())), "{file} not printed: {stdout}");
        assert!(std::fs::metadata(&path).unwrap().len() > 0, "{file} is empty");
    }
    assert!(!dir.path().join("charts/timeline-acks-all_broker-stop.png").exists(), "no timeline without an analysis");

    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("**3 cells: 1 pass, 1 fail, 1 unknown**"), "{md}");
    assert!(md.contains("- 2 lost, acked during `kill leader:0 (broker-2)` 1.0–3.0 s (acked 1.5–2.5 s)"), "{md}");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<failure message="lost = 0 (actual 2)" type="expectation">"#), "{junit}");
    assert!(junit.contains(r#"<error message="the cell could not be run: broker-3 did not start" type="unknown">"#), "{junit}");
    let csv = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
    assert!(csv.starts_with("id,acks,fault,verdict,definite,sent,acked,"), "{csv}");
    assert!(csv.contains("\nacks-all_broker-stop,all,broker-stop,unknown,,"), "{csv}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"), "charts inline, nothing external");
}

#[test]
fn report_of_a_directory_that_is_not_a_result_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = kafka_chaos(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is ") && stderr.contains("a result directory of `kafka-chaos run`?"), "{stderr}");

    let missing = dir.path().join("nope");
    let out = kafka_chaos(&["report", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("give a result directory written by `kafka-chaos run`"), "{}", text(&out.stderr));
}

#[test]
fn compare_exits_1_when_a_cell_got_worse() {
    let base = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    // The same cell, clean in the base run and lossy in the new one.
    write_summary(base.path(), vec![cell(base.path(), "acks-1_leader-kill", "1", CLEAN)]);
    write_summary(new.path(), vec![cell(new.path(), "acks-1_leader-kill", "1", LOSSY)]);
    let out = kafka_chaos(&["compare", base.path().to_str().unwrap(), new.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("worse (1):\n  acks-1_leader-kill: verdict pass -> fail, lost 0 -> 2\n"), "{stdout}");
    assert!(stdout.ends_with("1 cell(s) got worse\n"), "{stdout}");

    // The other way round it improved: exit 0.
    let out = kafka_chaos(&["compare", new.path().to_str().unwrap(), base.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("improved (1):"), "{}", text(&out.stdout));
}

#[test]
fn compare_of_the_same_run_exits_0_also_through_a_latest_link() {
    let reports = tempfile::tempdir().unwrap();
    let run = reports.path().join("t-20250101");
    std::fs::create_dir(&run).unwrap();
    result_dir(&run);
    let latest = reports.path().join("latest");
    std::os::unix::fs::symlink("t-20250101", &latest).unwrap();
    let out = kafka_chaos(&["compare", run.to_str().unwrap(), latest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("latest -> t-20250101 (t, seed 7, 3 cells)"), "{stdout}");
    assert!(stdout.contains("unchanged: 3 cell(s)") && stdout.ends_with("no cell got worse\n"), "{stdout}");
}

#[test]
fn compare_with_a_directory_that_is_not_a_result_exits_2() {
    let good = tempfile::tempdir().unwrap();
    write_summary(good.path(), vec![]);
    let empty = tempfile::tempdir().unwrap();
    let out = kafka_chaos(&["compare", good.path().to_str().unwrap(), empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "stdout: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("summary.json"), "{}", text(&out.stderr));
    let out = kafka_chaos(&["compare", good.path().to_str().unwrap(), "/nonexistent/run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("compare takes two result directories"), "{}", text(&out.stderr));
}

/// A nightly job comparing a full run with one that stopped early must not pass: the cells NEW
/// lacks are named, and the exit code says the comparison is incomplete.
#[test]
fn compare_with_a_partial_run_exits_3_naming_the_missing_cells() {
    let base = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    result_dir(base.path());
    let cells = vec![cell(new.path(), "acks-1_leader-kill", "1", LOSSY)];
    let summary = json!({
        "scenario": "t", "seed": 7, "complete": false, "cells": cells
    });
    std::fs::write(new.path().join("summary.json"), serde_json::to_string(&summary).unwrap()).unwrap();
    let out = kafka_chaos(&["compare", base.path().to_str().unwrap(), new.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("missing from new (2): acks-all_leader-kill, acks-all_broker-stop"), "{stdout}");
    assert!(stdout.contains("NEW is incomplete"), "{stdout}");
}
