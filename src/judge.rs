//! Verdicts, in one place for `run` and `analyze`: a cell's rules against the checker's counts,
//! but only where the evidence holds.
//!
//! - Every count needs the whole run as planned: each fault step fired, took effect on every
//!   victim and healed; the final read reached the end of every partition; every producer's
//!   ledger holds (seqs 0..n, one outcome each); the run did not end early. Without that, no rule
//!   is judged and the cell's verdict is `unknown`, whatever the counts say.
//! - Consumer-side counts (unconsumed, redelivered, processed_twice) also need the consumer
//!   group to have caught up; without that only those rules go unjudged.
//! - A cell fails when a judged rule is violated, passes when every rule is judged and holds.
//!
//! What ran that the plan did not intend (a late step, more brokers down at once, the quorum
//! lost) and a verdict that rests on a minority of definite outcomes are noted, not judged.

use crate::checker::Analysis;
use crate::plan::Cell;
use crate::scenario::{evaluate, Count, ExpectationResult, Rule};
use crate::summary::{CellSummary, Verdict};
use std::collections::BTreeSet;

/// Below this share of definite outcomes, a verdict says it rests on a minority of messages.
const DEFINITE_MINORITY: f64 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub expectations: Vec<ExpectationResult>,
    /// Counts no verdict may rest on, in `Count::ALL` order.
    pub unjudged: Vec<Count>,
    /// Why counts went unjudged, what ran that the plan did not intend, and how much of the
    /// verdict rests on definite outcomes.
    pub notes: Vec<String>,
}

pub fn judge(rules: &[Rule], analysis: &Analysis) -> Judgement {
    let evidence = &analysis.evidence;
    let problems = evidence.problems();
    let mut unjudged: BTreeSet<Count> = BTreeSet::new();
    let mut notes = Vec::new();
    if !problems.is_empty() {
        unjudged.extend(Count::ALL);
        notes.extend(problems.iter().map(|p| format!("no verdict: {p}")));
    } else if let Some(problem) = evidence.consumer_problem() {
        unjudged.extend(Count::ALL.into_iter().filter(|c| c.needs_drained_consumers()));
        notes.push(format!("consumer-side counts not judged: {problem}"));
    }
    notes.extend(evidence.deviations.iter().map(|d| format!("not as planned: {d}")));
    let counts = &analysis.counts;
    let share = counts.definite_share();
    if counts.sent > 0 && share < DEFINITE_MINORITY {
        notes.push(format!(
            "only {:.0}% of the messages sent have a definite outcome ({} acked, {} failed, {} unknown): the counts rest on a minority of them",
            share * 100.0,
            counts.acked,
            counts.failed,
            counts.unknown
        ));
    }
    let expectations = evaluate(rules, counts, &unjudged);
    let verdict = if expectations.iter().any(ExpectationResult::violated) {
        Verdict::Fail
    } else if !problems.is_empty() || expectations.iter().any(|e| !e.judged) {
        Verdict::Unknown
    } else {
        Verdict::Pass
    };
    Judgement { verdict, expectations, unjudged: unjudged.into_iter().collect(), notes }
}

/// A cell's entry in `summary.json`: its counts and the judgement of its rules. `notes` are the
/// run's own (an error that ended it), put after the judgement's.
pub fn cell_summary(cell: &Cell, analysis: &Analysis, notes: Vec<String>, duration_s: f64) -> CellSummary {
    let judgement = judge(&cell.expectations, analysis);
    let mut all_notes = judgement.notes;
    all_notes.extend(notes);
    CellSummary {
        id: cell.id.clone(),
        config: cell.config.clone(),
        counts: Some(analysis.counts),
        expectations: judgement.expectations,
        verdict: judgement.verdict,
        unjudged: judgement.unjudged,
        notes: all_notes,
        duration_s,
    }
}

/// A cell with no analysis: its run failed before there was a history to check.
pub fn unrun_cell(cell: &Cell, why: String, duration_s: f64) -> CellSummary {
    CellSummary {
        id: cell.id.clone(),
        config: cell.config.clone(),
        counts: None,
        expectations: Vec::new(),
        verdict: Verdict::Unknown,
        unjudged: Count::ALL.to_vec(),
        notes: vec![why],
        duration_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::analyze_bytes;
    use crate::scenario::expect::rule;
    use std::path::Path;

    const CELL: &str = r#"{"type":"cell","id":"c","brokers":3,"controllers":0,"partitions":1,"replication_factor":3,"producers":1,"consumers":1,"duration_ms":20000,"steps":[{"at_ms":5000,"action":"kill","target":"leader:0","heal_after_ms":5000}]}"#;

    /// Two messages acked, the leader killed and restarted, the log read in full, the group
    /// caught up; `edit` changes the lines first.
    fn analysis(edit: impl Fn(&mut Vec<String>)) -> Analysis {
        let mut lines: Vec<String> = [
            CELL,
            r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0}"#,
            r#"{"type":"worker","time_ms":0.0,"role":"producer","id":0,"state":"ready"}"#,
            r#"{"type":"send","time_ms":15000.0,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1}"#,
            r#"{"type":"worker","time_ms":20000.0,"role":"producer","id":0,"state":"stopped"}"#,
            r#"{"type":"step","time_ms":5000.0,"step":0,"action":"kill","target":"leader:0","state":"fired","why":"at 5.0 s"}"#,
            r#"{"type":"fault","time_ms":5000.0,"action":"kill","target":"broker-1","phase":"start","step":0,"took_ms":20.0}"#,
            r#"{"type":"fault","time_ms":12000.0,"action":"kill","target":"broker-1","phase":"end","step":0,"took_ms":2000.0}"#,
            r#"{"type":"processed","time_ms":3.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}"#,
            r#"{"type":"processed","time_ms":4.0,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}"#,
            r#"{"type":"drain","time_ms":21000.0,"caught_up":true,"waited_ms":100.0,"detail":"0 records behind"}"#,
            r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
            r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}"#,
            r#"{"type":"read","partition":0,"low":0,"high":2,"reached":2,"records":2}"#,
        ]
        .iter()
        .map(|l| l.to_string())
        .collect();
        edit(&mut lines);
        analyze_bytes(Path::new("h.jsonl"), lines.join("\n").as_bytes()).unwrap()
    }

    fn without(lines: &mut Vec<String>, part: &str) {
        lines.retain(|l| !l.contains(part));
    }

    #[test]
    fn full_evidence_passes_or_fails_by_the_rules() {
        let a = analysis(|_| {});
        let j = judge(&[rule(Count::Lost, 0, Some(0)), rule(Count::Unconsumed, 0, Some(0))], &a);
        assert_eq!(j.verdict, Verdict::Pass, "{:?}", j.notes);
        assert!(j.unjudged.is_empty() && j.notes.is_empty(), "{j:?}");
        let lossy = analysis(|l| without(l, r#""type":"log","producer":0,"seq":1"#));
        let j = judge(&[rule(Count::Lost, 0, Some(0))], &lossy);
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.expectations[0].actual, 1);
    }

    #[test]
    fn a_fault_that_never_happened_leaves_no_verdict() {
        let a = analysis(|l| {
            without(l, r#""phase":"start""#);
            without(l, r#""phase":"end""#);
            l.push(r#"{"type":"fault","time_ms":5000.0,"action":"kill","target":"broker-1","phase":"failed","step":0,"detail":"no such container"}"#.into());
        });
        let j = judge(&[rule(Count::Lost, 0, Some(0))], &a);
        assert_eq!(j.verdict, Verdict::Unknown);
        assert_eq!(j.unjudged, Count::ALL.to_vec());
        assert_eq!(j.notes, ["no verdict: step 1 (kill leader:0) could not be applied to broker-1: no such container"]);
        assert!(a.faults.is_empty(), "no window for a fault that was not applied");
        // Even a violated rule is not a failure without evidence.
        let j = judge(&[rule(Count::Lost, 1, None)], &a);
        assert_eq!(j.verdict, Verdict::Unknown);
    }

    #[test]
    fn an_unfinished_read_or_an_abort_leaves_no_verdict() {
        let a = analysis(|l| {
            without(l, r#""type":"read""#);
            l.push(r#"{"type":"read","partition":0,"low":0,"high":2,"reached":1,"records":1}"#.into());
        });
        assert_eq!(judge(&[rule(Count::Lost, 0, Some(0))], &a).verdict, Verdict::Unknown);
        let a = analysis(|l| l.push(r#"{"type":"abort","time_ms":9.0,"reason":"interrupted"}"#.into()));
        let j = judge(&[], &a);
        assert_eq!(j.verdict, Verdict::Unknown, "no rules, but no evidence either");
        assert_eq!(j.notes, ["no verdict: the run of the cell ended early: interrupted"]);
    }

    #[test]
    fn a_send_without_an_outcome_breaks_the_ledger() {
        let a = analysis(|l| without(l, r#""type":"send","time_ms":1.0,"producer":0,"seq":0"#));
        let j = judge(&[rule(Count::Lost, 0, Some(0))], &a);
        assert_eq!(j.verdict, Verdict::Unknown);
        assert!(j.notes.iter().any(|n| n.contains("the ledger of seqs has gaps")), "{:?}", j.notes);
    }

    #[test]
    fn a_group_that_did_not_catch_up_leaves_only_consumer_rules_unjudged() {
        let a = analysis(|l| {
            without(l, r#""type":"drain""#);
            l.push(r#"{"type":"drain","time_ms":1.0,"caught_up":false,"waited_ms":60000.0,"detail":"35 records behind"}"#.into());
        });
        let rules = [rule(Count::Lost, 0, Some(0)), rule(Count::Redelivered, 1, None)];
        let j = judge(&rules, &a);
        assert_eq!(j.verdict, Verdict::Unknown);
        assert_eq!(j.unjudged, [Count::Unconsumed, Count::Redelivered, Count::ProcessedTwice]);
        assert!(j.expectations[0].judged && !j.expectations[1].judged);
        let lossy = analysis(|l| {
            without(l, r#""type":"drain""#);
            without(l, r#""type":"log","producer":0,"seq":1"#);
        });
        assert_eq!(judge(&rules, &lossy).verdict, Verdict::Fail, "a judged violation still fails");
    }

    #[test]
    fn a_minority_of_definite_outcomes_is_noted() {
        let a = analysis(|l| {
            for seq in 2..5 {
                l.push(format!(r#"{{"type":"send","time_ms":16000.0,"producer":0,"seq":{seq},"outcome":"unknown"}}"#));
            }
        });
        let j = judge(&[], &a);
        assert_eq!(j.verdict, Verdict::Pass);
        assert!(j.notes[0].starts_with("only 40% of the messages sent have a definite outcome"), "{:?}", j.notes);
    }

    #[test]
    fn a_producer_whose_every_send_is_refused_gives_no_verdict() {
        // Every message larger than the producer's limit: refused, 100% definite, none lost.
        let a = analysis(|l| {
            for line in l.iter_mut().filter(|l| l.contains(r#""type":"send""#)) {
                *line = line.replace(r#""acked","partition":0"#, r#""failed","partition":0"#);
            }
            without(l, r#""type":"log""#);
        });
        assert_eq!((a.counts.acked, a.counts.failed, a.counts.lost), (0, 2, 0));
        let j = judge(&[rule(Count::Lost, 0, Some(0))], &a);
        assert_eq!(j.verdict, Verdict::Unknown);
        assert_eq!(j.notes, ["no verdict: no write was acknowledged: nothing shows the cluster took the workload"]);
    }

    #[test]
    fn a_producer_that_never_became_ready_gives_no_verdict() {
        let a = analysis(|l| without(l, r#""state":"ready""#));
        let j = judge(&[rule(Count::Lost, 0, Some(0))], &a);
        assert_eq!(j.verdict, Verdict::Unknown);
        assert!(j.notes[0].contains("producer 0 never reported ready"), "{:?}", j.notes);
    }
}
