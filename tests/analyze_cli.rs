//! `kafka-chaos analyze DIR` as a user runs it: the built binary on a temporary directory.

use std::path::Path;
use std::process::{Command, Output};

const GOOD: &str = r#"{"type":"fault","time_ms":1000.0,"action":"kill","target":"broker-2","phase":"start"}
{"type":"send","time_ms":500.0,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":2.5}
{"type":"send","time_ms":1500.0,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1,"latency_ms":40.0}
{"type":"send","time_ms":1600.0,"producer":0,"seq":2,"outcome":"unknown"}
{"type":"send","time_ms":1700.0,"producer":0,"seq":3,"outcome":"failed"}
{"type":"processed","time_ms":510.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}
{"type":"processed","time_ms":2510.0,"consumer":1,"producer":0,"seq":0,"partition":0,"offset":0}
{"type":"fault","time_ms":2000.0,"action":"kill","target":"broker-2","phase":"end"}
{"type":"note","time_ms":3000.0,"text":"final read"}
{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}
{"type":"log","producer":0,"seq":2,"partition":0,"offset":1}
"#;

fn analyze(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafka-chaos")).arg("analyze").arg(dir).output().expect("run kafka-chaos")
}

#[test]
fn a_good_history_writes_the_analysis_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("history.jsonl"), GOOD).unwrap();
    let out = analyze(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));

    let analysis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("analysis.json")).unwrap()).unwrap();
    let counts = &analysis["counts"];
    let expected = serde_json::json!({
        "sent": 4, "acked": 2, "failed": 1, "unknown": 1, "in_log": 2, "lost": 1, "duplicated": 0,
        "reordered": 0, "unexpected": 0, "recovered": 1, "unconsumed": 1, "redelivered": 1,
        "processed_twice": 1
    });
    assert_eq!(counts, &expected);
    assert_eq!(analysis["consistent"], true);
    assert_eq!(analysis["samples"]["lost"][0]["fault"]["reason"], "during kill broker-2 (1.0 s to 2.0 s)");

    let timeline = std::fs::read_to_string(dir.path().join("timeline.csv")).unwrap();
    assert_eq!(
        timeline,
        "second,acked,processed,failed,unknown,lost_acked_here\n0,1,1,0,0,0\n1,1,0,1,1,1\n2,0,1,0,0,0\n"
    );
    assert!(stdout.contains("consistent: acked + failed + unknown = 2 + 1 + 1 = 4, sent = 4"), "{stdout}");
    assert!(
        stdout.contains("producer 0 seq 1: acked at 1.5 s at partition 0 offset 1, during kill broker-2"),
        "{stdout}"
    );
}

#[test]
fn a_malformed_line_exits_2_names_the_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let history = GOOD.replace(r#""seq":3,"outcome":"failed""#, r#""seq":3,"outcome":"lost""#);
    std::fs::write(dir.path().join("history.jsonl"), history).unwrap();
    let out = analyze(dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "error: {}:5: send event: \"outcome\" must be one of \"acked\", \"failed\", \"unknown\", got \"lost\"",
        dir.path().join("history.jsonl").display()
    );
    assert_eq!(stderr.trim_end(), expected);
    assert!(!dir.path().join("analysis.json").exists());
    assert!(!dir.path().join("timeline.csv").exists());
}

#[test]
fn a_directory_without_a_history_exits_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = analyze(dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give a directory written by `kafka-chaos run`"));
}
