//! `report.html`: one self-contained page (charts inline as SVG, styles inline, no scripts, no
//! external fonts), so that it can be attached to a CI run or mailed. The verdict and the failed
//! expectations first, then the cells, every lost message placed in its fault window, the charts,
//! and a section per cell.

use super::charts::{Chart, ChartState};
use super::escape::escape;
use super::explain::{
    definite, duration, executed_schedule, fault_label, lost_explained, millis, outage_line, thousands, verdict_word,
    window_span,
};
use super::markdown::verdict_line;
use super::palette::{Outcome, FAULT_SHADE};
use super::ReportData;
use crate::checker::{Analysis, Sample};
use crate::summary::{CellSummary, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Lost messages listed per cell.
const LOST_SAMPLES: usize = 10;


pub fn render(data: &ReportData) -> String {
    let s = data.summary;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>kafka-chaos: {}</title>\n<style>\n{}</style>\n</head>\n<body>\n",
        escape(&s.scenario),
        stylesheet()
    );
    header(&mut out, data);
    failed_expectations(&mut out, &s.cells);
    cells_table(&mut out, &s.cells);
    lost(&mut out, data);
    charts(&mut out, data);
    for cell in &s.cells {
        cell_section(&mut out, data, cell);
    }
    notes(&mut out, data);
    let _ = writeln!(out, "<footer>Rendered by <code>kafka-chaos report</code> from <code>summary.json</code> and each cell's <code>analysis.json</code>.</footer>\n</body>\n</html>");
    out
}

fn stylesheet() -> String {
    let mut css = String::from(":root {\n");
    for o in [
        Outcome::Lost,
        Outcome::Duplicated,
        Outcome::Reordered,
        Outcome::Unconsumed,
        Outcome::Redelivered,
        Outcome::Acked,
        Outcome::Processed,
        Outcome::Errors,
    ] {
        let _ = writeln!(css, "  --{}: {};", o.name(), o.hex());
    }
    let _ = writeln!(css, "  --fault: rgb({}, {}, {});\n}}", FAULT_SHADE.0, FAULT_SHADE.1, FAULT_SHADE.2);
    css.push_str(
        r#"body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222; margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1280px; line-height: 1.45; }
h1 { margin: 0 0 .25rem; font-size: 1.7rem; }
h2 { margin-top: 2.2rem; padding-bottom: .25rem; border-bottom: 1px solid #ddd; font-size: 1.3rem; }
h3 { margin: 0 0 .5rem; font-size: 1.1rem; }
code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: .92em; background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
.description { color: #555; margin: 0 0 .75rem; }
.meta { display: flex; flex-wrap: wrap; gap: .25rem 1.75rem; margin: .5rem 0 1rem; padding: 0; }
.meta div { display: flex; gap: .4rem; }
.meta dt { color: #666; }
.meta dd { margin: 0; font-weight: 600; }
.verdict { font-size: 1.15rem; font-weight: 600; display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.badge { display: inline-block; padding: .05rem .55rem; border-radius: 999px; font-size: .85rem; font-weight: 600; white-space: nowrap; }
.badge.pass { background: #dcefe5; color: #0b5a37; }
.badge.fail { background: #fbd9d3; color: #8f1d06; }
.badge.unknown { background: #e6e6e6; color: #444; }
.incomplete { color: #8f1d06; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.zero { color: #aaa; }
td.anomaly { font-weight: 700; }
tr.fail td:first-child { box-shadow: inset 4px 0 0 #d0391b; }
tr.unknown td:first-child { box-shadow: inset 4px 0 0 #999; }
.dot { display: inline-block; width: .7em; height: .7em; border-radius: 2px; margin-right: .3em; vertical-align: baseline; }
.scroll { overflow-x: auto; }
.failed { border-left: 5px solid #d0391b; background: #fdf0ed; padding: .6rem 1rem; margin: .5rem 0 1rem; border-radius: 0 6px 6px 0; }
.failed table { margin: .25rem 0; background: transparent; }
.failed th { background: transparent; }
.failed .actual { font-weight: 700; color: #8f1d06; }
.lost-list li { margin: .2rem 0; }
.lost-list .count { font-weight: 700; color: var(--lost); }
figure { margin: 1rem 0 2rem; }
figure svg { max-width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { color: #666; font-size: .9rem; margin-top: .3rem; }
.chart-failed { color: #8f1d06; background: #fdf0ed; padding: .5rem .8rem; border-radius: 4px; }
section.cell { border: 1px solid #e2e2e2; border-radius: 8px; padding: 1rem 1.25rem; margin: 1.25rem 0; }
section.cell.fail { border-color: #eaa596; }
section.cell header { display: flex; gap: .75rem; align-items: baseline; flex-wrap: wrap; }
.chips { display: flex; flex-wrap: wrap; gap: .35rem; margin: .25rem 0 .75rem; }
.chip { background: #f1f1f1; border-radius: 4px; padding: .05rem .45rem; font-size: .88rem; }
.cell-grid { display: grid; grid-template-columns: minmax(260px, 1fr) minmax(260px, 2fr); gap: 1.25rem; }
.expectations li.fail { color: #8f1d06; font-weight: 600; }
.expectations li.unknown { color: #666; }
.expectations li.pass { color: #0b5a37; }
.muted { color: #777; }
.nowrap, code .part { white-space: nowrap; }
ul.notes li { margin: .15rem 0; }
footer { margin-top: 3rem; color: #888; font-size: .85rem; }
"#,
    );
    css
}

fn header(out: &mut String, data: &ReportData) {
    let s = data.summary;
    let _ = writeln!(out, "<header>\n<h1>kafka-chaos: {}</h1>", escape(&s.scenario));
    if !s.description.is_empty() {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", escape(&s.description));
    }
    let _ = writeln!(out, "<dl class=\"meta\">");
    for (name, value) in [
        ("seed", s.seed.to_string()),
        ("image", or_dash(&s.image)),
        ("started", or_dash(&s.started)),
        ("wall time", duration(s.wall_time_s)),
    ] {
        let _ = writeln!(out, "<div><dt>{name}</dt><dd>{}</dd></div>", escape(&value));
    }
    let _ = writeln!(out, "</dl>");
    let count = |v: Verdict| s.cells.iter().filter(|c| c.verdict == v).count();
    let _ = write!(
        out,
        "<p class=\"verdict\"><span>{}</span> <span class=\"badge pass\">{} pass</span><span class=\"badge fail\">{} fail</span><span class=\"badge unknown\">{} unknown</span>",
        escape(&verdict_line(&s.cells)),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Unknown)
    );
    if !s.complete {
        let _ = write!(out, " <span class=\"incomplete\">the run did not complete</span>");
    }
    let _ = writeln!(out, "</p>\n</header>");
}

fn failed_expectations(out: &mut String, cells: &[CellSummary]) {
    let failed: Vec<_> =
        cells.iter().flat_map(|c| c.expectations.iter().filter(|e| e.violated()).map(move |e| (c, e))).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2 id=\"failed\">Failed expectations</h2>\n<div class=\"failed\">\n<table>");
    let _ = writeln!(out, "<tr><th>cell</th><th>rule</th><th class=\"n\">actual</th><th>claim</th><th>written at</th></tr>");
    for (cell, e) in failed {
        let actual = if e.reported { thousands(e.actual) } else { "not reported".into() };
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#cell-{}\">{}</a></td><td class=\"nowrap\"><code>{}</code></td><td class=\"n actual\">{actual}</td><td>{}</td><td class=\"muted nowrap\">{}</td></tr>",
            escape(&cell.id),
            cell_id(&cell.id),
            escape(&e.rule),
            escape(e.claim.as_deref().unwrap_or("")),
            escape(&e.source),
        );
    }
    let _ = writeln!(out, "</table>\n</div>");
}

fn cells_table(out: &mut String, cells: &[CellSummary]) {
    let _ = writeln!(out, "<h2 id=\"cells\">Cells</h2>");
    if cells.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">No cell has finished yet.</p>");
        return;
    }
    let keys: BTreeSet<&String> = cells.iter().flat_map(|c| c.config.keys()).collect();
    let _ = write!(out, "<div class=\"scroll\"><table>\n<tr><th>cell</th>");
    for key in &keys {
        let _ = write!(out, "<th>{}</th>", escape(key));
    }
    for name in ["sent", "acked", "definite"] {
        let _ = write!(out, "<th class=\"n\">{name}</th>");
    }
    for o in Outcome::KEY_COUNTS {
        let _ = write!(out, "<th class=\"n\"><span class=\"dot\" style=\"background: var(--{0})\"></span>{0}</th>", o.name());
    }
    let _ = writeln!(out, "<th>verdict</th></tr>");
    for cell in cells {
        let verdict = verdict_word(cell.verdict);
        let _ = write!(out, "<tr class=\"{verdict}\"><td><a href=\"#cell-{}\">{}</a></td>", escape(&cell.id), cell_id(&cell.id));
        for key in &keys {
            let _ = write!(out, "<td>{}</td>", escape(cell.config.get(*key).map_or("", String::as_str)));
        }
        match &cell.counts {
            Some(c) => {
                for n in [c.sent, c.acked] {
                    let _ = write!(out, "<td class=\"n\">{}</td>", thousands(n));
                }
                let _ = write!(out, "<td class=\"n\">{}</td>", definite(c));
                for o in Outcome::KEY_COUNTS {
                    let n = o.count(c).unwrap_or_default();
                    if !o.judged_in(cell) {
                        let _ = write!(out, "<td class=\"n muted\" title=\"not judged: the evidence behind it is missing\">?</td>");
                    } else if n == 0 {
                        let _ = write!(out, "<td class=\"n zero\">0</td>");
                    } else {
                        let _ = write!(out, "<td class=\"n anomaly\" style=\"color: var(--{})\">{}</td>", o.name(), thousands(n));
                    }
                }
            }
            None => {
                let _ = write!(out, "<td class=\"n muted\" colspan=\"{}\">no counts</td>", 3 + Outcome::KEY_COUNTS.len());
            }
        }
        let _ = writeln!(out, "<td><span class=\"badge {verdict}\">{verdict}</span></td></tr>");
    }
    let _ = writeln!(out, "</table></div>");
}

fn lost(out: &mut String, data: &ReportData) {
    let lossy: Vec<&CellSummary> =
        data.summary.cells.iter().filter(|c| c.counts.is_some_and(|n| n.lost > 0)).collect();
    if lossy.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2 id=\"lost\">Lost messages, by the fault they were acked in</h2>");
    for cell in lossy {
        let _ = write!(out, "<p><a href=\"#cell-{}\">{}</a></p>\n<ul class=\"lost-list\">\n", escape(&cell.id), cell_id(&cell.id));
        match data.analysis(&cell.id) {
            Some(analysis) => {
                for explained in lost_explained(analysis) {
                    let sentence = explained.sentence(|label| format!("{CODE_START}{label}{CODE_END}"));
                    let _ = writeln!(out, "<li>{}</li>", mark_up_lost(&sentence));
                }
            }
            None => {
                let _ = writeln!(out, "<li class=\"muted\">the analysis could not be read, so the lost messages cannot be placed in a fault window</li>");
            }
        }
        let _ = writeln!(out, "</ul>");
    }
}

/// Escapes a lost sentence, setting the count in bold and the fault label (between \x01 and
/// \x02) as code.
/// Private-use characters around the code parts of a sentence: they survive escaping (control
/// characters would not) and become `<code>` tags after it.
const CODE_START: char = '\u{E000}';
const CODE_END: char = '\u{E001}';

fn mark_up_lost(sentence: &str) -> String {
    let escaped = escape(sentence).replace(CODE_START, "<code>").replace(CODE_END, "</code>");
    match escaped.split_once(' ') {
        Some((count, rest)) => format!("<span class=\"count\">{count}</span> {rest}"),
        None => escaped,
    }
}

fn charts(out: &mut String, data: &ReportData) {
    let overview: Vec<&Chart> = data.charts.iter().filter(|c| c.cell.is_none()).collect();
    if overview.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2 id=\"charts\">Charts</h2>");
    for chart in overview {
        figure(out, chart);
    }
}

fn figure(out: &mut String, chart: &Chart) {
    match &chart.state {
        ChartState::Rendered { svg } => {
            let _ = writeln!(
                out,
                "<figure>\n{}\n<figcaption>{} (also <code>{}</code>, <code>{}</code>)</figcaption>\n</figure>",
                strip_xml_declaration(svg),
                escape(&chart.title),
                escape(&chart.png_path()),
                escape(&chart.svg_path())
            );
        }
        ChartState::Failed(e) => {
            let _ = writeln!(out, "<p class=\"chart-failed\">{} could not be rendered: {}</p>", escape(&chart.title), escape(e));
        }
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}

fn cell_section(out: &mut String, data: &ReportData, cell: &CellSummary) {
    let verdict = verdict_word(cell.verdict);
    let _ = writeln!(out, "<section class=\"cell {verdict}\" id=\"cell-{}\">", escape(&cell.id));
    let _ = writeln!(
        out,
        "<header><h3><code>{}</code></h3><span class=\"badge {verdict}\">{verdict}</span><span class=\"muted\">{}</span></header>",
        escape(&cell.id),
        duration(cell.duration_s)
    );
    let _ = write!(out, "<div class=\"chips\">");
    for (k, v) in &cell.config {
        let _ = write!(out, "<span class=\"chip\">{}={}</span>", escape(k), escape(v));
    }
    let _ = writeln!(out, "</div>");
    let analysis = data.analysis(&cell.id);
    let _ = writeln!(out, "<div class=\"cell-grid\">\n<div>");
    counts_table(out, cell);
    let _ = writeln!(out, "</div>\n<div>");
    expectations(out, cell);
    if let Some(a) = analysis {
        schedule(out, a);
        lost_detail(out, a);
        if let Some(l) = &a.latency_ms {
            let _ = writeln!(
                out,
                "<p><strong>Ack latency</strong>: p50 {}, p90 {}, p99 {}, p99.9 {}, max {} <span class=\"muted\">({} acks)</span></p>",
                millis(l.p50),
                millis(l.p90),
                millis(l.p99),
                millis(l.p999),
                millis(l.max),
                thousands(l.count)
            );
        }
    }
    let mut notes: Vec<&str> = cell.notes.iter().map(String::as_str).collect();
    if let Some(a) = analysis {
        notes.extend(a.warnings.iter().map(String::as_str));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "<p><strong>Notes</strong></p>\n<ul class=\"notes\">");
        for note in notes {
            let _ = writeln!(out, "<li>{}</li>", escape(note));
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "</div>\n</div>");
    if let Some(chart) = data.chart(&format!("timeline-{}", cell.id)) {
        figure(out, chart);
    }
    let _ = writeln!(out, "</section>");
}

fn counts_table(out: &mut String, cell: &CellSummary) {
    let Some(counts) = &cell.counts else {
        let _ = writeln!(out, "<p class=\"muted\">No counts: the cell could not be run or checked.</p>");
        return;
    };
    let _ = writeln!(out, "<table>");
    for (count, n) in counts.iter() {
        let (name, meaning) = (count.as_str(), count.meaning());
        let outcome = Outcome::KEY_COUNTS.into_iter().find(|o| o.as_count() == Some(count));
        let dot = outcome.map_or(String::new(), |o| format!("<span class=\"dot\" style=\"background: var(--{})\"></span>", o.name()));
        let class = match outcome {
            Some(_) if n > 0 => "n anomaly",
            _ if n == 0 => "n zero",
            _ => "n",
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"nowrap\">{dot}{}</td><td class=\"{class}\">{}</td><td class=\"muted\">{meaning}</td></tr>",
            name.replace('_', " "),
            thousands(n)
        );
    }
    let _ = writeln!(out, "</table>");
}

fn expectations(out: &mut String, cell: &CellSummary) {
    if cell.expectations.is_empty() {
        return;
    }
    let _ = writeln!(out, "<p><strong>Expectations</strong></p>\n<ul class=\"expectations\">");
    for e in &cell.expectations {
        let (class, mark) = match (e.judged, e.passed) {
            (false, _) => ("unknown", "?"),
            (true, true) => ("pass", "✓"),
            (true, false) => ("fail", "✗"),
        };
        let actual = if e.reported { format!("actual {}", thousands(e.actual)) } else { "not reported".into() };
        let claim = e.claim.as_deref().map(|c| format!(" — {}", escape(c))).unwrap_or_default();
        let _ = writeln!(out, "<li class=\"{class}\">{mark} <code>{}</code>: {actual}{claim}</li>", escape(&e.rule));
    }
    let _ = writeln!(out, "</ul>");
}

/// The fault schedule as planned and as run, the windows it made, and what the plan did not intend.
fn schedule(out: &mut String, a: &Analysis) {
    let rows = executed_schedule(a);
    if !rows.is_empty() {
        let _ = writeln!(out, "<p><strong>Fault schedule, planned and run</strong></p>\n<table>\n<tr><th>step</th><th>planned</th><th>fired</th><th>victims</th></tr>");
        for row in rows {
            let victims: Vec<String> = row.victims.iter().map(|v| escape(v)).collect();
            let problem = row.problem.as_ref().map(|p| format!("<br><strong class=\"fail\">{}</strong>", escape(p))).unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td class=\"nowrap\"><code>{}</code></td><td>{}</td><td>{}{problem}</td><td>{}</td></tr>",
                escape(&row.step),
                escape(&row.planned),
                escape(&row.fired),
                if victims.is_empty() { "–".into() } else { victims.join("<br>") }
            );
        }
        let _ = writeln!(out, "</table>");
    }
    if let Some(line) = outage_line(a) {
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", escape(&line));
    }
    if !a.faults.is_empty() {
        let _ = writeln!(out, "<p><strong>Fault windows</strong></p>\n<table>\n<tr><th>fault</th><th>window</th></tr>");
        for w in &a.faults {
            let _ = writeln!(out, "<tr><td><code>{}</code></td><td>{}</td></tr>", escape(&fault_label(w)), escape(&window_span(w)));
        }
        let _ = writeln!(out, "</table>");
    }
}

fn lost_detail(out: &mut String, a: &Analysis) {
    if a.counts.lost == 0 {
        return;
    }
    let _ = writeln!(out, "<p><strong>Lost, by the fault they were acked in</strong></p>\n<ul class=\"lost-list\">");
    for explained in lost_explained(a) {
        let _ = writeln!(out, "<li>{}</li>", mark_up_lost(&explained.sentence(|l| format!("{CODE_START}{l}{CODE_END}"))));
    }
    let _ = writeln!(out, "</ul>");
    if a.samples.lost.is_empty() {
        return;
    }
    let shown = a.samples.lost.len().min(LOST_SAMPLES);
    let _ = writeln!(
        out,
        "<table>\n<caption class=\"muted\">first {shown} of {} lost</caption>\n<tr><th class=\"n\">producer</th><th class=\"n\">seq</th><th>acked as</th><th class=\"n\">acked at</th><th>fault</th></tr>",
        thousands(a.counts.lost)
    );
    for s in a.samples.lost.iter().take(LOST_SAMPLES) {
        let _ = writeln!(out, "{}", sample_row(s));
    }
    let _ = writeln!(out, "</table>");
}

fn sample_row(s: &Sample) -> String {
    let record = match (s.partition, s.offset) {
        (Some(p), Some(o)) => format!("partition {p} offset {o}"),
        _ => "–".into(),
    };
    format!(
        "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{record}</td><td class=\"n\">{}</td><td>{}</td></tr>",
        s.producer.map_or("–".into(), |p| p.to_string()),
        s.seq.map_or("–".into(), |q| q.to_string()),
        s.sent_ms.map_or("–".into(), |ms| format!("{:.1} s", ms / 1000.0)),
        escape(s.fault.as_ref().map_or("", |f| f.reason.as_str()))
    )
}

fn notes(out: &mut String, data: &ReportData) {
    if data.problems.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2 id=\"problems\">Problems rendering this report</h2>\n<ul class=\"notes\">");
    for p in &data.problems {
        let _ = writeln!(out, "<li>{}</li>", escape(p));
    }
    let _ = writeln!(out, "</ul>");
}

fn or_dash(text: &str) -> String {
    if text.is_empty() { "–".into() } else { text.to_string() }
}

/// A cell id that may wrap between its parts (`acks-all_` `commit-manual-sync_` …) but not at
/// the hyphens inside them.
fn cell_id(id: &str) -> String {
    let parts: Vec<String> = id.split_inclusive('_').map(|p| format!("<span class=\"part\">{}</span>", escape(p))).collect();
    format!("<code>{}</code>", parts.join("<wbr>"))
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

    #[test]
    fn self_contained_with_inline_charts() {
        let html = page();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>Outcomes per cell</text></svg>"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>Timeline of the lossy cell</text></svg>"));
        for external in ["<script", "<link", "src=\"http", "href=\"http", "@import", "url("] {
            assert!(!html.contains(external), "external reference {external}");
        }
        assert!(html.contains("<p class=\"chart-failed\">Acknowledgement latency per cell could not be rendered: backend &lt;error&gt;</p>"));
    }

    #[test]
    fn failed_expectations_are_highlighted_with_actual_values() {
        let html = page();
        let failed = html.split("<div class=\"failed\">").nth(1).unwrap().split("</div>").next().unwrap();
        assert!(failed.contains("<a href=\"#cell-acks-1_leader-kill\"><code><span class=\"part\">acks-1_</span><wbr><span class=\"part\">leader-kill</span></code></a>"), "{failed}");
        assert!(failed.contains("<td class=\"nowrap\"><code>lost = 0</code></td><td class=\"n actual\">2</td><td>acks=1 &amp; co lose nothing &lt;when&gt; the leader dies</td>"), "{failed}");
        assert!(!failed.contains("duplicated &lt;= 10"), "{failed}");
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
}
