//! `junit.xml`: one test case per cell, for CI systems that show test results, written with
//! `quick-junit` (nextest's JUnit model). A violated expectation is a failure with the rule and
//! the actual value; a cell that could not be judged (verdict unknown) is an error that says why;
//! the cell's config goes in its properties, its counts (`?` for unjudged) in its system-out.

use super::explain::{lost_explained, thousands};
use super::ReportData;
use crate::error::{Error, Result};
use crate::summary::{CellSummary, Verdict};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;
use std::time::Duration;

pub fn render(data: &ReportData) -> Result<Vec<u8>> {
    let s = data.summary;
    let mut suite = TestSuite::new(s.scenario.as_str());
    for (name, value) in [
        ("description", s.description.clone()),
        ("seed", s.seed.to_string()),
        ("image", s.image.clone()),
        ("started", s.started.clone()),
        ("complete", s.complete.to_string()),
    ] {
        suite.add_property(Property::new(name, value));
    }
    suite.set_time(Duration::from_secs_f64(s.cells.iter().map(|c| c.duration_s).sum::<f64>().max(0.0)));
    suite.add_test_cases(s.cells.iter().map(|cell| test_case(data, cell)));
    let mut report = Report::new("kafka-chaos");
    report.add_test_suite(suite);
    let xml = report.to_string().map_err(|e| Error::Invalid(format!("cannot write junit.xml: {e}")))?;
    Ok(xml.into_bytes())
}

fn test_case(data: &ReportData, cell: &CellSummary) -> TestCase {
    let status = match cell.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => {
            let failed: Vec<_> = cell.expectations.iter().filter(|e| e.violated()).collect();
            let message: Vec<String> = failed.iter().map(|e| format!("{} (actual {})", e.rule, actual(e))).collect();
            let mut body = String::new();
            for e in &failed {
                let claim = e.claim.as_deref().map(|c| format!(" — {c}")).unwrap_or_default();
                let _ = writeln!(body, "{}: actual {}{claim} ({})", e.rule, actual(e), e.source);
            }
            if let Some(analysis) = data.analysis(&cell.id) {
                for explained in lost_explained(analysis) {
                    let _ = writeln!(body, "{}", explained.sentence(str::to_string));
                }
            }
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("expectation").set_message(message.join("; ")).set_description(body.trim_end());
            status
        }
        Verdict::Unknown => {
            let message = cell.notes.first().map_or("the cell could not be judged", String::as_str);
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("unknown").set_message(message).set_description(cell.notes.join("\n"));
            status
        }
    };
    let mut case = TestCase::new(cell.id.as_str(), status);
    case.set_classname(data.summary.scenario.as_str());
    case.set_time(Duration::from_secs_f64(cell.duration_s.max(0.0)));
    case.add_properties(cell.config.iter().map(|(k, v)| Property::new(k.as_str(), v.as_str())));
    let mut system_out = String::new();
    if let Some(counts) = &cell.counts {
        let listed: Vec<String> = counts
            .iter()
            .map(|(c, v)| if cell.judged(c) { format!("{c} {}", thousands(v)) } else { format!("{c} ?") })
            .collect();
        let _ = writeln!(system_out, "counts: {}", listed.join(", "));
        let _ = writeln!(system_out, "definite outcomes: {:.1}%", counts.definite_share() * 100.0);
    }
    for note in &cell.notes {
        let _ = writeln!(system_out, "note: {note}");
    }
    if !system_out.is_empty() {
        case.set_system_out(system_out.trim_end());
    }
    case
}

fn actual(e: &crate::plan::ExpectationResult) -> String {
    if e.reported { e.actual.to_string() } else { "not reported".into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn xml() -> String {
        let summary = fixture::summary();
        String::from_utf8(render(&fixture::data(&summary)).unwrap()).unwrap()
    }

    #[test]
    fn a_failed_expectation_is_a_failure_with_the_rule_and_actual_value() {
        let xml = xml();
        assert!(xml.contains(r#"<testsuite name="t" tests="3" disabled="0" errors="1" failures="1" time="84.500">"#), "{xml}");
        assert!(xml.contains(r#"<testcase name="acks-1_leader-kill" classname="t" time="41.500">"#), "{xml}");
        assert!(xml.contains(r#"<failure message="lost = 0 (actual 2)" type="expectation">lost = 0: actual 2 — acks=1 &amp; co lose nothing &lt;when&gt; the leader dies (scenarios/t.toml:20:1)"#), "{xml}");
        assert!(xml.contains("2 lost, acked during kill leader:0 (broker-2) 1.0–3.0 s (acked 1.5–2.0 s)</failure>"), "{xml}");
        assert!(xml.contains(r#"<property name="acks" value="1"/>"#), "{xml}");
    }

    #[test]
    fn an_unknown_verdict_is_an_error_and_a_pass_has_neither() {
        let xml = xml();
        assert!(xml.contains(r#"<error message="the cell could not be run: broker-3 did not start; see `kafka-chaos doctor`" type="unknown">"#), "{xml}");
        let clean = xml.split("name=\"acks-all_leader-kill\"").nth(1).unwrap().split("</testcase>").next().unwrap();
        assert!(!clean.contains("<failure") && !clean.contains("<error"), "{clean}");
        assert!(clean.contains("<system-out>counts: sent 3, acked 3,"), "{clean}");
    }
}
