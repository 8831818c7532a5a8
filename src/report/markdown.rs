//! `report.md`: short enough for a pull-request comment or a CI job summary. The verdict first,
//! then a table of cells (`?` for a count no verdict may rest on, and the share of definite
//! outcomes), the failed expectations with their actual values, why cells have no verdict, the
//! fault schedules as planned and as run, each loss explained by the fault window it was acked
//! in, the charts (by relative path) and the notes.

use super::charts::ChartState;
use super::explain::{definite, duration, executed_schedule, lost_explained, outage_line, thousands, verdict_word};
use super::palette::Outcome;
use super::ReportData;
use crate::summary::{CellSummary, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Lost messages listed per cell, after the explanation by fault window.
const LOST_SAMPLES: usize = 3;
/// Timelines shown inline under their losses; the rest are linked, to keep a PR comment short.
const INLINE_TIMELINES: usize = 4;

pub fn render(data: &ReportData) -> String {
    let s = data.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# kafka-chaos: {}\n", s.scenario);
    if !s.description.is_empty() {
        let _ = writeln!(out, "{}\n", s.description);
    }
    let _ = writeln!(out, "**{}**{}\n", verdict_line(&s.cells), if s.complete { "" } else { " — the run did not complete" });
    let _ = writeln!(out, "| scenario | seed | image | started | wall time |\n|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        cell_text(&s.scenario),
        s.seed,
        cell_text(or_dash(&s.image)),
        cell_text(or_dash(&s.started)),
        duration(s.wall_time_s)
    );
    cells_table(&mut out, &s.cells);
    clients_side_by_side(&mut out, &s.cells);
    availability(&mut out, data);
    failed_expectations(&mut out, &s.cells);
    no_verdict(&mut out, &s.cells);
    schedules(&mut out, data);
    lost(&mut out, data);
    charts(&mut out, data);
    notes(&mut out, data);
    out
}

/// `6 cells: 4 pass, 1 fail, 1 unknown`.
pub fn verdict_line(cells: &[CellSummary]) -> String {
    let count = |v: Verdict| cells.iter().filter(|c| c.verdict == v).count();
    format!(
        "{} cells: {} pass, {} fail, {} unknown",
        cells.len(),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Unknown)
    )
}

fn verdict_mark(verdict: Verdict) -> String {
    let mark = match verdict {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Unknown => "⚠️",
    };
    format!("{mark} {}", verdict_word(verdict))
}

fn cells_table(out: &mut String, cells: &[CellSummary]) {
    let _ = writeln!(out, "## Cells\n");
    if cells.is_empty() {
        let _ = writeln!(out, "No cell has finished yet.\n");
        return;
    }
    let keys: BTreeSet<&String> = cells.iter().flat_map(|c| c.config.keys()).collect();
    let mut header = vec!["cell".to_string()];
    header.extend(keys.iter().map(|k| cell_text(k)));
    header.push("definite".into());
    header.extend(Outcome::KEY_COUNTS.iter().map(|o| o.name().to_string()));
    header.push("verdict".into());
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for cell in cells {
        let mut row = vec![format!("`{}`", cell.id)];
        row.extend(keys.iter().map(|k| cell_text(cell.config.get(*k).map_or("", String::as_str))));
        row.push(cell.counts.as_ref().map_or("–".into(), definite));
        row.extend(Outcome::KEY_COUNTS.iter().map(|o| match &cell.counts {
            // Not judged: the evidence behind it is missing (see "No verdict").
            Some(_) if !o.judged_in(cell) => "?".into(),
            Some(c) => {
                let n = o.count(c).unwrap_or_default();
                // Anomalies stand out in bold; zeros stay quiet.
                if n > 0 { format!("**{}**", thousands(n)) } else { "0".into() }
            }
            None => "–".into(),
        }));
        row.push(verdict_mark(cell.verdict));
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

/// How long writes went unacknowledged, per cell with faults: where versions and settings differ
/// when nothing is lost.
fn availability(out: &mut String, data: &ReportData) {
    let rows: Vec<(&CellSummary, &crate::checker::Availability)> = data
        .summary
        .cells
        .iter()
        .filter_map(|c| Some((c, data.analyses.get(&c.id)?.availability.as_ref()?)))
        .filter(|(_, a)| !a.recovery.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Availability
");
    let _ = writeln!(
        out,
        "The longest time a partition acknowledged no write while the producers were sending, and for each \
         fault the longest such silence that began while it was in force (writes already in flight may \
         still be acknowledged after a fault begins: the silence follows them).\n"
    );
    let _ = writeln!(out, "| cell | longest without an ack | per fault: longest silence that began during it |\n|---|---|---|");
    for (cell, a) in rows {
        let gap = match a.gap_partition {
            Some(p) => format!("{} (partition {p}, from {})", duration(a.longest_gap_ms / 1000.0), duration(a.gap_from_ms / 1000.0)),
            None => "–".into(),
        };
        let faults: Vec<String> = a
            .recovery
            .iter()
            .map(|r| match r.silent_partition {
                Some(p) => format!("{} {}: {} (partition {p})", r.action, r.target, duration(r.longest_silence_ms / 1000.0)),
                None => format!("{} {}: none", r.action, r.target),
            })
            .collect();
        let _ = writeln!(out, "| `{}` | {gap} | {} |", cell.id, cell_text(&faults.join("; ")));
    }
    out.push('\n');
}

/// With more than one client in the matrix: one row per configuration and fault, one column per
/// client, so the same faults read across the clients.
fn clients_side_by_side(out: &mut String, cells: &[CellSummary]) {
    let clients: Vec<&str> = {
        let mut seen = Vec::new();
        for c in cells.iter().filter_map(|c| c.config.get("client")) {
            if !seen.contains(&c.as_str()) {
                seen.push(c.as_str());
            }
        }
        seen
    };
    if clients.len() < 2 {
        return;
    }
    // The configuration without its client, in order of first appearance.
    let rest = |c: &CellSummary| -> Vec<(String, String)> {
        c.config.iter().filter(|(k, _)| k.as_str() != "client").map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    for cell in cells {
        let r = rest(cell);
        if !rows.contains(&r) {
            rows.push(r);
        }
    }
    let _ = writeln!(out, "## Same faults, {} clients
", clients.len());
    let _ = writeln!(out, "| configuration | {} |", clients.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(clients.len()));
    for row in rows {
        let label = row.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
        let columns: Vec<String> = clients
            .iter()
            .map(|client| {
                let runs: Vec<String> = cells
                    .iter()
                    .filter(|c| c.config.get("client").map(String::as_str) == Some(client) && rest(c) == row)
                    .map(anomalies)
                    .collect();
                if runs.is_empty() { "–".into() } else { runs.join("<br>") }
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", cell_text(&label), columns.join(" | "));
    }
    out.push('\n');
}

/// `✅ lost 752, redelivered 2,002` (or `✅ none`): a cell's verdict and its non-zero key counts.
fn anomalies(cell: &CellSummary) -> String {
    let mark = verdict_mark(cell.verdict);
    let Some(counts) = &cell.counts else { return format!("{mark} (no analysis)") };
    let found: Vec<String> = Outcome::KEY_COUNTS
        .iter()
        .filter_map(|o| {
            if !o.judged_in(cell) {
                return Some(format!("{} ?", o.name()));
            }
            let n = o.count(counts).unwrap_or_default();
            (n > 0).then(|| format!("{} {}", o.name(), thousands(n)))
        })
        .collect();
    if found.is_empty() { format!("{mark}: none") } else { format!("{mark}: {}", found.join(", ")) }
}

fn failed_expectations(out: &mut String, cells: &[CellSummary]) {
    let failed: Vec<_> =
        cells.iter().flat_map(|c| c.expectations.iter().filter(|e| e.violated()).map(move |e| (c, e))).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Failed expectations\n");
    for (cell, e) in failed {
        let actual = if e.reported { format!("actual **{}**", thousands(e.actual)) } else { "not reported by the checker".into() };
        let claim = e.claim.as_deref().map(|c| format!(" — {}", inline(c))).unwrap_or_default();
        let _ = writeln!(out, "- `{}`: `{}`, {actual}{claim} ({})", cell.id, e.rule, inline(&e.source));
    }
    out.push('\n');
}

/// Why each unknown cell has no verdict, and which counts that leaves unjudged.
fn no_verdict(out: &mut String, cells: &[CellSummary]) {
    let unknown: Vec<&CellSummary> = cells.iter().filter(|c| c.verdict == Verdict::Unknown).collect();
    if unknown.is_empty() {
        return;
    }
    let _ = writeln!(out, "## No verdict
");
    for cell in unknown {
        let reasons: Vec<String> =
            cell.notes.iter().filter(|n| !n.starts_with("not as planned")).map(|n| inline(n)).collect();
        let _ = writeln!(out, "- `{}`: {}", cell.id, if reasons.is_empty() { "see its notes".into() } else { reasons.join("; ") });
    }
    out.push('\n');
}

/// Each cell's fault schedule, as planned and as run, with what ran that was not planned.
fn schedules(out: &mut String, data: &ReportData) {
    let mut any = false;
    for cell in &data.summary.cells {
        let Some(analysis) = data.analysis(&cell.id) else { continue };
        let rows = executed_schedule(analysis);
        if rows.is_empty() {
            continue;
        }
        if !any {
            let _ = writeln!(out, "## Fault schedules, planned and run
");
            any = true;
        }
        let _ = writeln!(out, "### `{}`
", cell.id);
        let _ = writeln!(out, "| step | planned | fired | victims |
|---|---|---|---|");
        for row in rows {
            let victims = if row.victims.is_empty() { "–".to_string() } else { row.victims.iter().map(|v| cell_text(v)).collect::<Vec<_>>().join("<br>") };
            let fired = match &row.problem {
                Some(problem) => format!("{} **({})**", cell_text(&row.fired), cell_text(problem)),
                None => cell_text(&row.fired),
            };
            let _ = writeln!(out, "| {} | {} | {fired} | {victims} |", cell_text(&row.step), cell_text(&row.planned));
        }
        out.push('\n');
        if let Some(line) = outage_line(analysis) {
            let _ = writeln!(out, "{}\n", inline(&line));
        }
        for deviation in &analysis.evidence.deviations {
            let _ = writeln!(out, "- not as planned: {}", inline(deviation));
        }
        if !analysis.evidence.deviations.is_empty() {
            out.push('\n');
        }
    }
}

fn lost(out: &mut String, data: &ReportData) {
    let lossy: Vec<&CellSummary> =
        data.summary.cells.iter().filter(|c| c.counts.is_some_and(|n| n.lost > 0)).collect();
    // A loss with no verdict on it is still shown: it is what the history says, flagged as such.
    if lossy.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Lost messages\n");
    for (shown, cell) in lossy.into_iter().enumerate() {
        let _ = writeln!(out, "### `{}`\n", cell.id);
        let Some(analysis) = data.analysis(&cell.id) else {
            let lost = cell.counts.map_or(0, |c| c.lost);
            let _ = writeln!(out, "{} lost; the analysis could not be read, so they cannot be placed in a fault window.\n", thousands(lost));
            continue;
        };
        for explained in lost_explained(analysis) {
            let _ = writeln!(out, "- {}", explained.sentence(|label| format!("`{label}`")));
        }
        for sample in analysis.samples.lost.iter().take(LOST_SAMPLES) {
            let record = match (sample.partition, sample.offset) {
                (Some(p), Some(o)) => format!(", acked as partition {p} offset {o}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  - e.g. producer {} seq {}{record} at {:.1} s",
                sample.producer.unwrap_or_default(),
                sample.seq.unwrap_or_default(),
                sample.sent_ms.unwrap_or_default() / 1000.0
            );
        }
        if let Some(chart) = data.chart(&format!("timeline-{}", cell.id)).filter(|_| shown < INLINE_TIMELINES) {
            if matches!(chart.state, ChartState::Rendered { .. }) {
                let _ = writeln!(out, "\n![{}]({})", chart.title, chart.png_path());
            }
        }
        out.push('\n');
    }
}

fn charts(out: &mut String, data: &ReportData) {
    if data.charts.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Charts\n");
    let mut timelines = Vec::new();
    for chart in &data.charts {
        match (&chart.state, &chart.cell) {
            (ChartState::Failed(e), _) => {
                let _ = writeln!(out, "_{} could not be rendered: {}_\n", chart.title, inline(e));
            }
            (ChartState::Rendered { .. }, Some(cell)) => timelines.push(format!("[`{cell}`]({})", chart.png_path())),
            (ChartState::Rendered { .. }, None) => {
                let _ = writeln!(out, "![{}]({})\n", chart.title, chart.png_path());
            }
        }
    }
    if !timelines.is_empty() {
        let _ = writeln!(out, "Timelines: {}\n", timelines.join(" · "));
    }
}

fn notes(out: &mut String, data: &ReportData) {
    let mut lines = Vec::new();
    for cell in &data.summary.cells {
        for note in &cell.notes {
            lines.push(format!("`{}`: {}", cell.id, inline(note)));
        }
        if let Some(analysis) = data.analysis(&cell.id) {
            for warning in &analysis.warnings {
                lines.push(format!("`{}`: {}", cell.id, inline(warning)));
            }
        }
    }
    lines.extend(data.problems.iter().map(|p| inline(p)));
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Notes\n");
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "–" } else { text }
}

/// Text inside a table cell: a `|` would end the cell, a newline the row.
fn cell_text(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

/// Free text on one line, with HTML-looking text shown as typed (GitHub would swallow `<when>`).
fn inline(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::Chart;
    use crate::report::fixture;

    #[test]
    fn verdict_table_and_failed_expectations() {
        let summary = fixture::summary();
        let md = render(&fixture::data(&summary));
        assert!(md.starts_with("# kafka-chaos: t\n"), "{md}");
        assert!(md.contains("**3 cells: 1 pass, 1 fail, 1 unknown**"), "{md}");
        assert!(md.contains("| t | 7 | apache/kafka:4.1.1 | 2025-01-01T00:00:00Z | 9 min 12 s |"), "{md}");
        assert!(md.contains("| cell | acks | fault | definite | lost | duplicated | reordered | unconsumed | redelivered | verdict |"), "{md}");
        assert!(md.contains("| `acks-1_leader-kill` | 1 | leader-kill | 100.0% | **2** | **1** | 0 | 0 | 0 | ❌ fail |"), "{md}");
        assert!(md.contains("| `acks-all_broker-stop` | all | broker-stop | – | – | – | – | – | – | ⚠️ unknown |"), "{md}");
        assert!(md.contains("## No verdict\n\n- `acks-all_broker-stop`: the cell could not be run: broker-3 did not start"), "{md}");
        assert!(
            md.contains("- `acks-1_leader-kill`: `lost = 0`, actual **2** — acks=1 & co lose nothing &lt;when&gt; the leader dies"),
            "{md}"
        );
        assert!(!md.contains("duplicated <= 10"), "passed expectations are not listed: {md}");
    }

    #[test]
    fn several_clients_read_side_by_side() {
        let mut summary = fixture::summary();
        let md = render(&fixture::data(&summary));
        assert!(!md.contains("## Same faults"), "one client: no comparison: {md}");
        let mut other = summary.cells[0].clone();
        other.id = format!("{}_java", other.id);
        other.config.insert("client".into(), "java".into());
        summary.cells[0].config.insert("client".into(), "sarama".into());
        summary.cells.push(other);
        let md = render(&fixture::data(&summary));
        assert!(md.contains("## Same faults, 2 clients\n\n| configuration | sarama | java |"), "{md}");
        assert!(md.contains("| acks=1 fault=leader-kill | ❌ fail: lost 2, duplicated 1 | ❌ fail: lost 2, duplicated 1 |"), "{md}");
    }

    #[test]
    fn lost_messages_are_explained_by_their_fault_window() {
        let summary = fixture::summary();
        let md = render(&fixture::data(&summary));
        assert!(
            md.contains("- 2 lost, acked during `kill leader:0 (broker-2)` 1.0–3.0 s (acked 1.5–2.0 s)"),
            "{md}"
        );
        assert!(md.contains("  - e.g. producer 0 seq 3, acked as partition 0 offset 3 at 1.5 s"), "{md}");
        assert!(!md.contains("### `acks-all_leader-kill`"), "a cell without loss has no section: {md}");
    }

    #[test]
    fn notes_and_charts_by_relative_path() {
        let summary = fixture::summary();
        let mut data = fixture::data(&summary);
        data.charts = vec![
            Chart::rendered("outcomes", "Outcomes per cell", None),
            Chart::rendered(&format!("timeline-{}", fixture::LOSSY), "Timeline", Some(fixture::LOSSY)),
            Chart::failed("latency", "Ack latency", None, "backend error"),
        ];
        let md = render(&data);
        assert!(md.contains("![Outcomes per cell](charts/outcomes.png)"), "{md}");
        assert!(md.contains("![Timeline](charts/timeline-acks-1_leader-kill.png)"), "{md}");
        assert!(md.contains("_Ack latency could not be rendered: backend error_"), "{md}");
        assert!(md.contains("- `acks-all_leader-kill`: drain timed out after 45 s"), "{md}");
        assert!(md.contains("- `acks-all_broker-stop`: the cell could not be run: broker-3 did not start"), "{md}");
    }
}
