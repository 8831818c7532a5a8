//! A small hand-made result for the renderers' tests: three cells, one that lost two messages
//! acked during a leader kill (fail), one clean (pass), one that never ran (unknown).

use super::ReportData;
use crate::checker::{analyze_bytes, write_analysis, Analysis};
use crate::plan::ExpectationResult;
use crate::summary::{CellSummary, Summary, Verdict, CELLS_DIR};
use std::collections::BTreeMap;
use std::path::Path;

pub const LOSSY: &str = "acks-1_leader-kill";
pub const CLEAN: &str = "acks-all_leader-kill";
pub const NEVER_RAN: &str = "acks-all_broker-stop";

/// Seqs 3 and 4 are acked during the kill and missing from the log; seq 0 is in the log twice.
const LOSSY_HISTORY: &str = r#"{"type":"send","time_ms":100,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":4}
{"type":"send","time_ms":300,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1,"latency_ms":6}
{"type":"send","time_ms":600,"producer":0,"seq":2,"outcome":"acked","partition":0,"offset":2,"latency_ms":5}
{"type":"fault","time_ms":1000,"action":"kill","target":"broker-2","phase":"start","spec":"leader:0"}
{"type":"send","time_ms":1500,"producer":0,"seq":3,"outcome":"acked","partition":0,"offset":3,"latency_ms":250}
{"type":"send","time_ms":2000,"producer":0,"seq":4,"outcome":"acked","partition":0,"offset":4,"latency_ms":900}
{"type":"fault","time_ms":3000,"action":"kill","target":"broker-2","phase":"end","spec":"leader:0"}
{"type":"send","time_ms":3500,"producer":0,"seq":5,"outcome":"acked","partition":0,"offset":3,"latency_ms":7}
{"type":"processed","time_ms":200,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}
{"type":"processed","time_ms":400,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}
{"type":"processed","time_ms":700,"consumer":0,"producer":0,"seq":2,"partition":0,"offset":2}
{"type":"processed","time_ms":3600,"consumer":0,"producer":0,"seq":5,"partition":0,"offset":3}
{"type":"processed","time_ms":3700,"consumer":1,"producer":0,"seq":0,"partition":1,"offset":0}
{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}
{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}
{"type":"log","producer":0,"seq":2,"partition":0,"offset":2}
{"type":"log","producer":0,"seq":5,"partition":0,"offset":3}
{"type":"log","producer":0,"seq":0,"partition":1,"offset":0}
"#;

/// Everything arrives; one record is processed twice after the kill.
const CLEAN_HISTORY: &str = r#"{"type":"send","time_ms":100,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":8}
{"type":"fault","time_ms":1000,"action":"kill","target":"broker-1","phase":"start","spec":"leader:0"}
{"type":"send","time_ms":1500,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1,"latency_ms":1200}
{"type":"fault","time_ms":3000,"action":"kill","target":"broker-1","phase":"end","spec":"leader:0"}
{"type":"send","time_ms":3500,"producer":0,"seq":2,"outcome":"acked","partition":0,"offset":2,"latency_ms":9}
{"type":"processed","time_ms":200,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}
{"type":"processed","time_ms":1600,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}
{"type":"processed","time_ms":3300,"consumer":1,"producer":0,"seq":1,"partition":0,"offset":1}
{"type":"processed","time_ms":3600,"consumer":1,"producer":0,"seq":2,"partition":0,"offset":2}
{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}
{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}
{"type":"log","producer":0,"seq":2,"partition":0,"offset":2}
"#;

pub fn analysis(history: &str) -> Analysis {
    analyze_bytes(Path::new("history.jsonl"), history.as_bytes()).expect("the fixture history is valid")
}

pub fn analyses() -> BTreeMap<String, Analysis> {
    [(LOSSY.to_string(), analysis(LOSSY_HISTORY)), (CLEAN.to_string(), analysis(CLEAN_HISTORY))].into_iter().collect()
}

fn expectation(rule: &str, passed: bool, actual: u64) -> ExpectationResult {
    ExpectationResult {
        rule: rule.into(),
        passed,
        actual,
        reported: true,
        judged: true,
        when: String::new(),
        claim: Some("acks=1 & co lose nothing <when> the leader dies".into()),
        source: "scenarios/t.toml:20:1".into(),
        expectation: 0,
    }
}

fn config(acks: &str, fault: &str) -> BTreeMap<String, String> {
    [("acks".to_string(), acks.to_string()), ("fault".to_string(), fault.to_string())].into_iter().collect()
}

pub fn summary() -> Summary {
    let analyses = analyses();
    Summary {
        scenario: "t".into(),
        description: "acks under a leader kill".into(),
        seed: 7,
        started: "2025-01-01T00:00:00Z".into(),
        wall_time_s: 552.0,
        complete: true,
        image: "apache/kafka:4.1.1".into(),
        cells: vec![
            CellSummary {
                id: LOSSY.into(),
                config: config("1", "leader-kill"),
                counts: Some(analyses[LOSSY].counts),
                expectations: vec![expectation("lost = 0", false, 2), expectation("duplicated <= 10", true, 1)],
                verdict: Verdict::Fail,
                unjudged: vec![],
                notes: vec![],
                duration_s: 41.5,
            },
            CellSummary {
                id: CLEAN.into(),
                config: config("all", "leader-kill"),
                counts: Some(analyses[CLEAN].counts),
                expectations: vec![expectation("lost = 0", true, 0)],
                verdict: Verdict::Pass,
                unjudged: vec![],
                notes: vec!["drain timed out after 45 s".into()],
                duration_s: 40.0,
            },
            CellSummary {
                id: NEVER_RAN.into(),
                config: config("all", "broker-stop"),
                counts: None,
                expectations: vec![],
                verdict: Verdict::Unknown,
                unjudged: crate::scenario::Count::ALL.to_vec(),
                notes: vec!["the cell could not be run: broker-3 did not start; see `kafka-chaos doctor`".into()],
                duration_s: 3.0,
            },
        ],
    }
}

pub fn data(summary: &Summary) -> ReportData<'_> {
    ReportData { summary, analyses: analyses(), charts: Vec::new(), problems: Vec::new() }
}

/// A result directory as `run` leaves it: summary.json and the analyses of the cells that ran.
pub fn result_dir(dir: &Path) -> Summary {
    let summary = summary();
    summary.save(dir).unwrap();
    for (id, analysis) in analyses() {
        let cell_dir = dir.join(CELLS_DIR).join(id);
        std::fs::create_dir_all(&cell_dir).unwrap();
        write_analysis(&cell_dir, &analysis).unwrap();
    }
    summary
}
