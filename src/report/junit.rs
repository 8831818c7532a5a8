//! `junit.xml`: one test case per cell, for CI systems that show test results. A violated
//! expectation is a `<failure>` with the rule and the actual value; a cell that could not be
//! judged (verdict unknown) is an `<error>`; the cell's config goes in its properties.

use super::escape::escape;
use super::explain::{lost_explained, thousands};
use super::ReportData;
use crate::summary::{counts_map, CellSummary, Verdict, COUNT_NAMES};
use std::fmt::Write as _;

pub fn render(data: &ReportData) -> String {
    let s = data.summary;
    let tests = s.cells.len();
    let failures = s.cells.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let errors = s.cells.iter().filter(|c| c.verdict == Verdict::Unknown).count();
    let time: f64 = s.cells.iter().map(|c| c.duration_s).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\"");
    let _ = writeln!(out, "<testsuites name=\"kafka-chaos\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"{}\" {counts} skipped=\"0\">", escape(&s.scenario));
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [
        ("description", s.description.as_str()),
        ("seed", &s.seed.to_string()),
        ("image", &s.image),
        ("started", &s.started),
        ("complete", if s.complete { "true" } else { "false" }),
    ] {
        property(&mut out, 6, name, value);
    }
    let _ = writeln!(out, "    </properties>");
    for cell in &s.cells {
        test_case(&mut out, data, cell);
    }
    let _ = writeln!(out, "  </testsuite>\n</testsuites>");
    out
}

fn test_case(out: &mut String, data: &ReportData, cell: &CellSummary) {
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
        escape(&data.summary.scenario),
        escape(&cell.id),
        cell.duration_s
    );
    let _ = writeln!(out, "      <properties>");
    for (key, value) in &cell.config {
        property(out, 8, key, value);
    }
    let _ = writeln!(out, "      </properties>");
    let failed: Vec<_> = cell.expectations.iter().filter(|e| e.violated()).collect();
    match cell.verdict {
        Verdict::Fail => {
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
            let _ = writeln!(
                out,
                "      <failure type=\"expectation\" message=\"{}\">{}</failure>",
                escape(&message.join("; ")),
                escape(body.trim_end())
            );
        }
        Verdict::Unknown => {
            let message = cell.notes.first().map_or("the cell could not be judged", String::as_str);
            let _ = writeln!(
                out,
                "      <error type=\"unknown\" message=\"{}\">{}</error>",
                escape(message),
                escape(&cell.notes.join("\n"))
            );
        }
        Verdict::Pass => {}
    }
    let mut system_out = String::new();
    if let Some(counts) = &cell.counts {
        let map = counts_map(counts);
        let listed: Vec<String> =
            COUNT_NAMES.iter().filter_map(|n| map.get(*n).map(|v| format!("{n} {}", thousands(*v)))).collect();
        let _ = writeln!(system_out, "counts: {}", listed.join(", "));
    }
    for note in &cell.notes {
        let _ = writeln!(system_out, "note: {note}");
    }
    if !system_out.is_empty() {
        let _ = writeln!(out, "      <system-out>{}</system-out>", escape(system_out.trim_end()));
    }
    let _ = writeln!(out, "    </testcase>");
}

fn actual(e: &crate::plan::ExpectationResult) -> String {
    if e.reported { e.actual.to_string() } else { "not reported".into() }
}

fn property(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(out, "{:indent$}<property name=\"{}\" value=\"{}\"/>", "", escape(name), escape(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn a_failed_expectation_is_a_failure_with_the_rule_and_actual_value() {
        let summary = fixture::summary();
        let xml = render(&fixture::data(&summary));
        assert!(xml.contains(r#"<testsuite name="t" tests="3" failures="1" errors="1" time="84.500" skipped="0">"#), "{xml}");
        assert!(xml.contains(r#"<testcase classname="t" name="acks-1_leader-kill" time="41.500">"#), "{xml}");
        assert!(xml.contains(r#"<failure type="expectation" message="lost = 0 (actual 2)">lost = 0: actual 2 — acks=1 &amp; co lose nothing &lt;when&gt; the leader dies (scenarios/t.toml:20:1)"#), "{xml}");
        assert!(xml.contains("2 lost, acked during kill leader:0 (broker-2) 1.0–3.0 s (acked 1.5–2.0 s)</failure>"), "{xml}");
        assert!(xml.contains(r#"<property name="acks" value="1"/>"#), "{xml}");
    }

    #[test]
    fn an_unknown_verdict_is_an_error_and_a_pass_has_neither() {
        let summary = fixture::summary();
        let xml = render(&fixture::data(&summary));
        assert!(xml.contains(r#"<error type="unknown" message="the cell could not be run: broker-3 did not start; see `kafka-chaos doctor`">"#), "{xml}");
        let clean = xml.split("name=\"acks-all_leader-kill\"").nth(1).unwrap().split("</testcase>").next().unwrap();
        assert!(!clean.contains("<failure") && !clean.contains("<error"), "{clean}");
        assert!(clean.contains("<system-out>counts: sent 3, acked 3,"), "{clean}");
    }

}
