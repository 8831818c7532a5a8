//! `report.html`: one self-contained page (charts inline as SVG, styles inline, no scripts, no
//! external fonts), so that it can be attached to a CI run or mailed. The verdict and the failed
//! expectations first, then the cells, every lost message placed in its fault window, the charts,
//! and a section per cell.
//!
//! The markup is `templates/report.html` (askama: compiled against the structs below, every
//! `{{ }}` HTML-escaped; only the charts' SVG goes in as is). Here only the view: what the page
//! shows, computed from the summary, the analyses and the charts.

use super::charts::{Chart, ChartState};
use super::explain::{
    definite, duration, executed_schedule, fault_label, lost_explained, millis, outage_line, thousands, verdict_word,
    window_span, LostExplained, StepRow,
};
use super::markdown::verdict_line;
use super::palette::{Outcome, FAULT_SHADE};
use super::ReportData;
use crate::checker::{Analysis, Sample};
use crate::plan::ExpectationResult;
use crate::summary::{CellSummary, Summary, Verdict};
use askama::Template;
use std::collections::BTreeSet;

/// Lost messages listed per cell.
const LOST_SAMPLES: usize = 10;

/// The outcomes with a CSS colour variable (`--lost`), in this order.
const PALETTE: [Outcome; 8] = [
    Outcome::Lost,
    Outcome::Duplicated,
    Outcome::Reordered,
    Outcome::Unconsumed,
    Outcome::Redelivered,
    Outcome::Acked,
    Outcome::Processed,
    Outcome::Errors,
];

pub fn render(data: &ReportData) -> String {
    let page = Page::new(data);
    // Rendering into a String fails only if a value's Display fails, and none of ours does.
    page.render().expect("report.html renders")
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    summary: &'a Summary,
    palette: [Outcome; 8],
    fault_shade: String,
    meta: [(&'static str, String); 4],
    verdict_line: String,
    pass: usize,
    fail: usize,
    unknown: usize,
    failed: Vec<FailedRow<'a>>,
    /// The matrix keys of all cells: the cells table's columns.
    keys: BTreeSet<&'a String>,
    key_outcomes: [Outcome; 5],
    rows: Vec<CellRow<'a>>,
    lost: Vec<LostCell<'a>>,
    /// The charts of the whole run.
    overview: Vec<Figure<'a>>,
    sections: Vec<Section<'a>>,
    problems: &'a [String],
}

/// A violated expectation.
struct FailedRow<'a> {
    cell: &'a str,
    e: &'a ExpectationResult,
    actual: String,
}

/// A line of the cells table.
struct CellRow<'a> {
    id: &'a str,
    verdict: &'static str,
    /// The cell's value of each of the page's keys.
    config: Vec<&'a str>,
    counts: Option<RowCounts>,
}

struct RowCounts {
    sent: String,
    acked: String,
    definite: String,
    /// One per `Outcome::KEY_COUNTS`.
    key: Vec<KeyCount>,
}

enum KeyCount {
    Unjudged,
    Zero,
    Anomaly { name: &'static str, value: String },
}

/// The lost messages of a cell, at the top of the page.
struct LostCell<'a> {
    id: &'a str,
    /// None when its analysis could not be read.
    lines: Option<Vec<LostLine>>,
}

/// `412 lost, acked during <code>kill leader:0 (broker-2)</code> 12.0–27.3 s (…)`: the count
/// (in bold) and the rest of the sentence, the fault label as code.
struct LostLine {
    count: Option<String>,
    parts: Vec<Part>,
}

struct Part {
    code: bool,
    text: String,
}

enum Figure<'a> {
    Rendered { svg: &'a str, title: &'a str, png_path: String, svg_path: String },
    Failed { title: &'a str, error: &'a str },
}

struct Section<'a> {
    cell: &'a CellSummary,
    verdict: &'static str,
    duration: String,
    /// None when the cell has no counts.
    counts: Option<Vec<CountRow>>,
    expectations: Vec<ExpectationLine<'a>>,
    /// None without an analysis.
    detail: Option<Detail>,
    /// The cell's notes, then its analysis's warnings.
    notes: Vec<&'a str>,
    timeline: Option<Figure<'a>>,
}

struct CountRow {
    /// The outcome colour of a key count.
    dot: Option<&'static str>,
    label: String,
    class: &'static str,
    n: String,
    meaning: &'static str,
}

struct ExpectationLine<'a> {
    class: &'static str,
    mark: &'static str,
    rule: &'a str,
    actual: String,
    claim: Option<&'a str>,
}

/// What a cell's analysis adds to its section.
struct Detail {
    schedule: Vec<StepRow>,
    outage: Option<String>,
    /// Fault label and span of each fault window.
    windows: Vec<(String, String)>,
    /// None when nothing was lost.
    lost: Option<Vec<LostLine>>,
    samples: Option<Samples>,
    latency: Option<Latency>,
}

struct Samples {
    shown: usize,
    total: String,
    rows: Vec<SampleRow>,
}

struct SampleRow {
    producer: String,
    seq: String,
    record: String,
    sent: String,
    fault: String,
}

struct Latency {
    p50: String,
    p90: String,
    p99: String,
    p999: String,
    max: String,
    count: String,
}

impl<'a> Page<'a> {
    fn new(data: &'a ReportData) -> Page<'a> {
        let s = data.summary;
        let count = |v: Verdict| s.cells.iter().filter(|c| c.verdict == v).count();
        let keys: BTreeSet<&String> = s.cells.iter().flat_map(|c| c.config.keys()).collect();
        Page {
            summary: s,
            palette: PALETTE,
            fault_shade: format!("rgb({}, {}, {})", FAULT_SHADE.0, FAULT_SHADE.1, FAULT_SHADE.2),
            meta: [
                ("seed", s.seed.to_string()),
                ("image", or_dash(&s.image)),
                ("started", or_dash(&s.started)),
                ("wall time", duration(s.wall_time_s)),
            ],
            verdict_line: verdict_line(&s.cells),
            pass: count(Verdict::Pass),
            fail: count(Verdict::Fail),
            unknown: count(Verdict::Unknown),
            failed: s
                .cells
                .iter()
                .flat_map(|c| c.expectations.iter().filter(|e| e.violated()).map(move |e| (c, e)))
                .map(|(c, e)| FailedRow {
                    cell: &c.id,
                    e,
                    actual: if e.reported { thousands(e.actual) } else { "not reported".into() },
                })
                .collect(),
            rows: s.cells.iter().map(|c| CellRow::new(c, &keys)).collect(),
            keys,
            key_outcomes: Outcome::KEY_COUNTS,
            lost: s
                .cells
                .iter()
                .filter(|c| c.counts.is_some_and(|n| n.lost > 0))
                .map(|c| LostCell {
                    id: &c.id,
                    lines: data.analysis(&c.id).map(|a| lost_explained(a).iter().map(LostLine::new).collect()),
                })
                .collect(),
            overview: data.charts.iter().filter(|c| c.cell.is_none()).map(Figure::new).collect(),
            sections: s.cells.iter().map(|c| Section::new(data, c)).collect(),
            problems: &data.problems,
        }
    }
}

impl<'a> CellRow<'a> {
    fn new(cell: &'a CellSummary, keys: &BTreeSet<&String>) -> CellRow<'a> {
        CellRow {
            id: &cell.id,
            verdict: verdict_word(cell.verdict),
            config: keys.iter().map(|k| cell.config.get(*k).map_or("", String::as_str)).collect(),
            counts: cell.counts.as_ref().map(|c| RowCounts {
                sent: thousands(c.sent),
                acked: thousands(c.acked),
                definite: definite(c),
                key: Outcome::KEY_COUNTS
                    .into_iter()
                    .map(|o| match o.count(c).unwrap_or_default() {
                        _ if !o.judged_in(cell) => KeyCount::Unjudged,
                        0 => KeyCount::Zero,
                        n => KeyCount::Anomaly { name: o.name(), value: thousands(n) },
                    })
                    .collect(),
            }),
        }
    }
}

/// Private-use characters around the fault label in a lost sentence, to find it again.
const CODE_START: char = '\u{E000}';
const CODE_END: char = '\u{E001}';

impl LostLine {
    /// The sentence is `explain`'s, so that every report words it alike.
    fn new(explained: &LostExplained) -> LostLine {
        let sentence = explained.sentence(|label| format!("{CODE_START}{label}{CODE_END}"));
        let (count, rest) = match sentence.split_once(' ') {
            Some((count, rest)) => (Some(count.to_string()), rest),
            None => (None, sentence.as_str()),
        };
        let mut parts = Vec::new();
        let mut push = |code: bool, text: &str| {
            if !text.is_empty() {
                parts.push(Part { code, text: text.to_string() });
            }
        };
        let mut chunks = rest.split(CODE_START);
        push(false, chunks.next().unwrap_or_default());
        for chunk in chunks {
            let (code, plain) = chunk.split_once(CODE_END).unwrap_or((chunk, ""));
            push(true, code);
            push(false, plain);
        }
        LostLine { count, parts }
    }
}

impl<'a> Figure<'a> {
    fn new(chart: &'a Chart) -> Figure<'a> {
        match &chart.state {
            ChartState::Rendered { svg } => Figure::Rendered {
                svg: strip_xml_declaration(svg),
                title: &chart.title,
                png_path: chart.png_path(),
                svg_path: chart.svg_path(),
            },
            ChartState::Failed(e) => Figure::Failed { title: &chart.title, error: e },
        }
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}

impl<'a> Section<'a> {
    fn new(data: &'a ReportData, cell: &'a CellSummary) -> Section<'a> {
        let analysis = data.analysis(&cell.id);
        let mut notes: Vec<&str> = cell.notes.iter().map(String::as_str).collect();
        if let Some(a) = analysis {
            notes.extend(a.warnings.iter().map(String::as_str));
        }
        Section {
            cell,
            verdict: verdict_word(cell.verdict),
            duration: duration(cell.duration_s),
            counts: cell.counts.as_ref().map(|counts| counts.iter().map(|(count, n)| CountRow::new(count, n)).collect()),
            expectations: cell.expectations.iter().map(ExpectationLine::new).collect(),
            detail: analysis.map(Detail::new),
            notes,
            timeline: data.chart(&format!("timeline-{}", cell.id)).map(Figure::new),
        }
    }
}

impl CountRow {
    fn new(count: crate::model::Count, n: u64) -> CountRow {
        let outcome = Outcome::KEY_COUNTS.into_iter().find(|o| o.as_count() == Some(count));
        CountRow {
            dot: outcome.map(Outcome::name),
            label: count.label(),
            class: match outcome {
                Some(_) if n > 0 => "n anomaly",
                _ if n == 0 => "n zero",
                _ => "n",
            },
            n: thousands(n),
            meaning: count.meaning(),
        }
    }
}

impl<'a> ExpectationLine<'a> {
    fn new(e: &'a ExpectationResult) -> ExpectationLine<'a> {
        let (class, mark) = match (e.judged, e.passed) {
            (false, _) => ("unknown", "?"),
            (true, true) => ("pass", "✓"),
            (true, false) => ("fail", "✗"),
        };
        ExpectationLine {
            class,
            mark,
            rule: &e.rule,
            actual: if e.reported { format!("actual {}", thousands(e.actual)) } else { "not reported".into() },
            claim: e.claim.as_deref(),
        }
    }
}

impl Detail {
    fn new(a: &Analysis) -> Detail {
        let lost = a.counts.lost > 0;
        Detail {
            schedule: executed_schedule(a),
            outage: outage_line(a),
            windows: a.faults.iter().map(|w| (fault_label(w), window_span(w))).collect(),
            lost: lost.then(|| lost_explained(a).iter().map(LostLine::new).collect()),
            samples: (lost && !a.samples.lost.is_empty()).then(|| Samples {
                shown: a.samples.lost.len().min(LOST_SAMPLES),
                total: thousands(a.counts.lost),
                rows: a.samples.lost.iter().take(LOST_SAMPLES).map(SampleRow::new).collect(),
            }),
            latency: a.latency_ms.as_ref().map(|l| Latency {
                p50: millis(l.p50),
                p90: millis(l.p90),
                p99: millis(l.p99),
                p999: millis(l.p999),
                max: millis(l.max),
                count: thousands(l.count),
            }),
        }
    }
}

impl SampleRow {
    fn new(s: &Sample) -> SampleRow {
        SampleRow {
            producer: s.producer.map_or("–".into(), |p| p.to_string()),
            seq: s.seq.map_or("–".into(), |q| q.to_string()),
            record: match (s.partition, s.offset) {
                (Some(p), Some(o)) => format!("partition {p} offset {o}"),
                _ => "–".into(),
            },
            sent: s.sent_ms.map_or("–".into(), |ms| format!("{:.1} s", ms / 1000.0)),
            fault: s.fault.as_ref().map_or(String::new(), |f| f.reason.clone()),
        }
    }
}

fn or_dash(text: &str) -> String {
    if text.is_empty() { "–".into() } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn page() -> String {
        let summary = fixture::summary();
        let mut data = fixture::data(&summary);
        data.charts = vec![
            Chart::rendered("outcomes", "Outcomes per cell", None),
            Chart::rendered(&format!("timeline-{}", fixture::LOSSY), "Timeline of the lossy cell", Some(fixture::LOSSY)),
            Chart::failed("latency", "Acknowledgement latency per cell", None, "backend <error>"),
        ];
        data.problems = vec!["chart latency could not be rendered: backend <error>".into()];
        render(&data)
    }

    // askama escapes as numeric references: `&#60;` for `<`, `&#38;` for `&`, `&#34;` for `"`.

    #[test]
    fn self_contained_with_inline_charts() {
        let html = page();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>Outcomes per cell</text></svg>"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>Timeline of the lossy cell</text></svg>"));
        for external in ["<script", "<link", "src=\"http", "href=\"http", "@import", "url("] {
            assert!(!html.contains(external), "external reference {external}");
        }
        assert!(html.contains("<p class=\"chart-failed\">Acknowledgement latency per cell could not be rendered: backend &#60;error&#62;</p>"));
    }

    #[test]
    fn failed_expectations_are_highlighted_with_actual_values() {
        let html = page();
        let failed = html.split("<div class=\"failed\">").nth(1).unwrap().split("</div>").next().unwrap();
        assert!(failed.contains("<a href=\"#cell-acks-1_leader-kill\"><code><span class=\"part\">acks-1_</span><wbr><span class=\"part\">leader-kill</span></code></a>"), "{failed}");
        assert!(failed.contains("<td class=\"nowrap\"><code>lost = 0</code></td><td class=\"n actual\">2</td><td>acks=1 &#38; co lose nothing &#60;when&#62; the leader dies</td>"), "{failed}");
        assert!(!failed.contains("duplicated &#60;= 10"), "{failed}");
        assert!(html.contains("<li class=\"fail\">✗ <code>lost = 0</code>: actual 2"), "in the cell section too");
    }

    #[test]
    fn each_lost_message_is_explained_by_its_fault() {
        let html = page();
        assert!(
            html.contains("<li><span class=\"count\">2</span> lost, acked during <code>kill leader:0 (broker-2)</code> 1.0–3.0 s (acked 1.5–2.0 s)</li>"),
            "{html}"
        );
        assert!(html.contains("<td>partition 0 offset 3</td><td class=\"n\">1.5 s</td><td>during kill broker-2 (1.0 s to 3.0 s)</td>"), "{html}");
    }

    #[test]
    fn cells_table_links_every_cell_and_marks_verdicts() {
        let html = page();
        assert!(html.contains("<tr class=\"fail\"><td><a href=\"#cell-acks-1_leader-kill\">"));
        assert!(html.contains("<section class=\"cell unknown\" id=\"cell-acks-all_broker-stop\">"));
        assert!(html.contains("<td class=\"n muted\" colspan=\"8\">no counts</td>"));
        assert!(html.contains("--lost: #d55e00;"));
    }

    #[test]
    fn every_text_is_escaped_but_the_charts() {
        let mut summary = fixture::summary();
        summary.cells[0].notes.push(r#"<script>alert("x")</script> & 'y'"#.into());
        summary.cells[0].config.insert("key<".into(), "\"value\"".into());
        let mut data = fixture::data(&summary);
        data.charts = vec![Chart::rendered("outcomes", "Outcomes <b>per</b> cell", None)];
        let html = render(&data);
        assert!(html.contains("<li>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;y&#39;</li>"), "{html}");
        assert!(html.contains("<th>key&#60;</th>") && html.contains("<span class=\"chip\">key&#60;=&#34;value&#34;</span>"), "{html}");
        assert!(!html.contains("<script"));
        // The SVG as the chart renderer wrote it (its escaping is its own), the caption escaped.
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>Outcomes <b>per</b> cell</text></svg>"));
        assert!(html.contains("<figcaption>Outcomes &#60;b&#62;per&#60;/b&#62; cell (also"));
    }
}
