//! `kafka-chaos analyze DIR` as a user runs it: the built binary on a temporary directory, on a
//! cell's history written here, and on a whole result directory written by a real run
//! (`tests/fixtures/result`, from `tests/fixtures/tiny.toml`).

use kafka_chaos::summary::{Summary, Verdict};
use std::path::{Path, PathBuf};
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
        "processed_twice": 1, "aborted_read": 0, "torn": 0
    });
    assert_eq!(counts, &expected);
    assert_eq!(analysis["evidence"]["ledger"]["gaps"], 0);
    assert_eq!(analysis["samples"]["lost"][0]["fault"]["reason"], "during kill broker-2 (1.0 s to 2.0 s)");

    let timeline = std::fs::read_to_string(dir.path().join("timeline.csv")).unwrap();
    assert_eq!(
        timeline,
        "second,acked,processed,failed,unknown,lost_acked_here\n0,1,1,0,0,0\n1,1,0,1,1,1\n2,0,1,0,0,0\n"
    );
    assert!(stdout.contains("definite outcomes: 75.0% (2 acked + 1 failed of 4 sent)"), "{stdout}");
    assert!(stdout.contains("evidence missing: the history does not say what the cell planned"), "{stdout}");
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

/// A copy of the stored result directory, to judge (and edit) without touching the fixture.
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("result");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/result"), &dir);
    (tmp, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn cell_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir.join("cells")).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    dirs
}

#[test]
fn a_stored_run_is_judged_again_as_it_was() {
    let (_tmp, dir) = fixture_copy();
    let before = Summary::load(&dir).unwrap();
    let out = analyze(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let after = Summary::load(&dir).unwrap();
    assert_eq!(after.cells.len(), before.cells.len());
    for (a, b) in after.cells.iter().zip(&before.cells) {
        assert_eq!((a.id.as_str(), a.verdict, a.counts), (b.id.as_str(), b.verdict, b.counts), "{stdout}");
    }
    assert!(after.complete);
    for file in ["report.md", "report.html", "junit.xml", "summary.csv"] {
        assert!(dir.join(file).is_file(), "{file} not written");
    }
    assert!(stdout.contains("judged 2 cell(s) again"), "{stdout}");
}

/// Acked records removed from the final read: the history now says they were lost, and the cell
/// whose rule is `lost = 0` fails on judging it again.
#[test]
fn a_history_edited_to_drop_acked_records_is_judged_fail() {
    let (_tmp, dir) = fixture_copy();
    let cell = cell_dirs(&dir).into_iter().find(|d| d.to_string_lossy().contains("acks-all")).unwrap();
    let history = std::fs::read_to_string(cell.join("history.jsonl")).unwrap();
    let mut dropped = 0;
    let edited: Vec<&str> = history
        .lines()
        .filter(|line| {
            let drop = line.starts_with(r#"{"type":"log","producer":0,"seq":1"#) && dropped < 5;
            dropped += drop as usize;
            !drop
        })
        .collect();
    assert!(dropped > 0, "no log line to drop");
    std::fs::write(cell.join("history.jsonl"), edited.join("\n") + "\n").unwrap();
    let out = analyze(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let summary = Summary::load(&dir).unwrap();
    let judged = summary.cells.iter().find(|c| c.id.contains("acks-all")).unwrap();
    assert_eq!(judged.verdict, Verdict::Fail, "{:?}", judged.notes);
    assert!(judged.counts.unwrap().lost >= 1);
    assert!(stdout.contains("violated: lost = 0"), "{stdout}");
}

/// The final read cut short: without the end of the log there is no verdict, whatever the counts.
#[test]
fn a_history_without_its_final_read_has_no_verdict() {
    let (_tmp, dir) = fixture_copy();
    let cell = cell_dirs(&dir).into_iter().find(|d| d.to_string_lossy().contains("acks-all")).unwrap();
    let history = std::fs::read_to_string(cell.join("history.jsonl")).unwrap();
    let edited: Vec<&str> = history.lines().filter(|l| !l.starts_with(r#"{"type":"read""#)).collect();
    std::fs::write(cell.join("history.jsonl"), edited.join("\n") + "\n").unwrap();
    let out = analyze(&dir);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let summary = Summary::load(&dir).unwrap();
    let judged = summary.cells.iter().find(|c| c.id.contains("acks-all")).unwrap();
    assert_eq!(judged.verdict, Verdict::Unknown);
    assert!(judged.notes.iter().any(|n| n.contains("no record of the final read")), "{:?}", judged.notes);
}
