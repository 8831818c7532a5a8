//! The reports of a result directory, rendered from what the run stored (`summary.json` and each
//! cell's `analysis.json`): `summary.csv`, `report.md`, `report.html`, `junit.xml` and
//! `charts/*.png|svg`. Renderers only format; every figure comes from the checker.
//!
//! A chart or an analysis that cannot be had is recorded in the reports and the rest goes on: a
//! broken chart must not cost the run its verdict.

pub mod charts;
mod csv;
mod explain;
#[cfg(test)]
mod fixture;
mod html;
mod junit;
mod markdown;
pub mod palette;
mod table;

pub use charts::{Chart, ChartState};
pub use csv::{summary_csv, write_summary_csv, SUMMARY_CSV_FILE};
pub use explain::{executed_schedule, thousands, verdict_word};
pub use table::terminal_table;

use crate::checker::{read_analysis, Analysis, ANALYSIS_FILE};
use crate::error::Result;
use crate::summary::{Summary, Verdict, CELLS_DIR};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const MARKDOWN_FILE: &str = "report.md";
pub const HTML_FILE: &str = "report.html";
pub const JUNIT_FILE: &str = "junit.xml";

/// What `render_all` wrote, and what it could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderedReport {
    /// Every file written, in the order written.
    pub files: Vec<PathBuf>,
    /// Analyses that could not be read and charts that could not be rendered; the reports say so too.
    pub problems: Vec<String>,
}

/// Everything a renderer may show: read-only.
pub struct ReportData<'a> {
    pub summary: &'a Summary,
    /// By cell id; a cell with no readable analysis is absent.
    pub analyses: BTreeMap<String, Analysis>,
    pub charts: Vec<Chart>,
    pub problems: Vec<String>,
}

impl ReportData<'_> {
    pub fn analysis(&self, cell: &str) -> Option<&Analysis> {
        self.analyses.get(cell)
    }

    /// The chart of this file stem (`outcomes`, `timeline-<cell>`), if one was attempted.
    pub fn chart(&self, stem: &str) -> Option<&Chart> {
        self.charts.iter().find(|c| c.stem == stem)
    }
}

/// One text report from the data.
type Render = fn(&ReportData) -> Result<Vec<u8>>;

/// Renders every report of `dir` from `summary` and the analyses under `dir/cells/`.
/// Fails only when a report file cannot be written; charts that fail are listed in
/// `RenderedReport::problems` and in the reports.
pub fn render_all(dir: &Path, summary: &Summary) -> Result<RenderedReport> {
    let (analyses, mut problems) = load_analyses(dir, summary);
    let charts = charts::render_all(dir, summary, &analyses);
    let mut files = Vec::new();
    for chart in &charts {
        match &chart.state {
            ChartState::Rendered { .. } => files.extend([dir.join(chart.png_path()), dir.join(chart.svg_path())]),
            ChartState::Failed(e) => problems.push(format!("chart {} could not be rendered: {e}", chart.stem)),
        }
    }
    let data = ReportData { summary, analyses, charts, problems };

    let outputs: [(&str, Render); 4] = [
        (SUMMARY_CSV_FILE, |d| summary_csv(d.summary)),
        (MARKDOWN_FILE, |d| Ok(markdown::render(d).into_bytes())),
        (HTML_FILE, |d| Ok(html::render(d).into_bytes())),
        (JUNIT_FILE, junit::render),
    ];
    let mut first_error = None;
    for (name, render) in outputs {
        let path = dir.join(name);
        match render(&data).and_then(|bytes| crate::store::write_bytes(&path, &bytes)) {
            Ok(()) => files.push(path),
            // The other reports may still be written.
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(RenderedReport { files, problems: data.problems }),
    }
}

/// Each cell's analysis, and a problem for each that could not be read. A cell that never got
/// an analysis (verdict unknown: its run failed) is no problem: the summary already says why.
pub fn load_analyses(dir: &Path, summary: &Summary) -> (BTreeMap<String, Analysis>, Vec<String>) {
    let mut analyses = BTreeMap::new();
    let mut problems = Vec::new();
    for cell in &summary.cells {
        let cell_dir = dir.join(CELLS_DIR).join(&cell.id);
        let missing = !cell_dir.join(ANALYSIS_FILE).exists();
        if missing && cell.verdict == Verdict::Unknown {
            continue;
        }
        match read_analysis(&cell_dir) {
            Ok(analysis) => {
                analyses.insert(cell.id.clone(), analysis);
            }
            Err(e) => problems.push(format!("cell {}: {e}", cell.id)),
        }
    }
    (analyses, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_report_from_a_result_directory() {
        let dir = tempfile::tempdir().unwrap();
        let summary = fixture::result_dir(dir.path());
        let rendered = render_all(dir.path(), &summary).unwrap();
        assert_eq!(rendered.problems, Vec::<String>::new(), "the cell that never ran has no analysis, and that is fine");
        let names: Vec<String> =
            rendered.files.iter().map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        for expected in ["summary.csv", "report.md", "report.html", "junit.xml", "charts/outcomes.png", "charts/heatmap.svg"] {
            assert!(names.iter().any(|n| n == expected), "{expected} not in {names:?}");
        }
        for file in &rendered.files {
            assert!(std::fs::metadata(file).unwrap().len() > 0, "{} is empty", file.display());
        }
        // Rendering again (as `kafka-chaos report` does) replaces the files.
        assert_eq!(render_all(dir.path(), &summary).unwrap().files, rendered.files);
    }

    #[test]
    fn an_unreadable_analysis_is_reported_and_the_rest_rendered() {
        let dir = tempfile::tempdir().unwrap();
        let summary = fixture::result_dir(dir.path());
        std::fs::write(dir.path().join(CELLS_DIR).join(fixture::CLEAN).join(ANALYSIS_FILE), "{").unwrap();
        let rendered = render_all(dir.path(), &summary).unwrap();
        assert_eq!(rendered.problems.len(), 1, "{:?}", rendered.problems);
        assert!(rendered.problems[0].starts_with("cell acks-all_leader-kill: "), "{:?}", rendered.problems);
        let md = std::fs::read_to_string(dir.path().join(MARKDOWN_FILE)).unwrap();
        assert!(md.contains("- cell acks-all_leader-kill: "), "the problem is in the report: {md}");
        assert!(!dir.path().join("charts/timeline-acks-all_leader-kill.png").exists());
    }
}
