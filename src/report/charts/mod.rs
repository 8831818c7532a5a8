//! The charts, each written as `charts/<stem>.png` and `charts/<stem>.svg` with plotters: one
//! file per chart below, drawing once for both backends. Text is drawn with an embedded DejaVu
//! Sans (there may be no system fonts at all), registered once.
//!
//! A chart that fails, or makes plotters panic, becomes `ChartState::Failed`: the reports show
//! the error and the run goes on.

mod axis;
mod bars;
mod bearings;
mod font;
mod heatmap;
mod latency;
mod legend;
mod outcomes;
mod pen;
mod symlog;
mod timeline;

use crate::store::write_bytes as write_atomically;
use crate::checker::Analysis;
use crate::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub(crate) use pen::Pen;

pub const CHARTS_DIR: &str = "charts";

/// One chart of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File name without extension: `outcomes`, `heatmap`, `latency`, `timeline-<cell id>`.
    pub stem: String,
    pub title: String,
    /// The cell of a per-cell chart.
    pub cell: Option<String>,
    pub state: ChartState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartState {
    /// Both files were written; the SVG is kept to inline it in the HTML report.
    Rendered { svg: String },
    Failed(String),
}

impl Chart {
    /// Relative to the result directory, as the reports link it.
    pub fn png_path(&self) -> String {
        format!("{CHARTS_DIR}/{}.png", self.stem)
    }

    pub fn svg_path(&self) -> String {
        format!("{CHARTS_DIR}/{}.svg", self.stem)
    }

    #[cfg(test)]
    pub fn rendered(stem: &str, title: &str, cell: Option<&str>) -> Chart {
        let svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>{title}</text></svg>");
        Chart { stem: stem.into(), title: title.into(), cell: cell.map(Into::into), state: ChartState::Rendered { svg } }
    }

    #[cfg(test)]
    pub fn failed(stem: &str, title: &str, cell: Option<&str>, error: &str) -> Chart {
        Chart { stem: stem.into(), title: title.into(), cell: cell.map(Into::into), state: ChartState::Failed(error.into()) }
    }
}

/// What went wrong drawing a chart, as text for the report.
#[derive(Debug)]
pub struct ChartError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError(e.to_string())
    }
}

/// A chart that can draw itself on any backend, so that the PNG and the SVG are the same picture.
pub(crate) trait Draw {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> Result<(), ChartError>;
}

/// Renders every chart into `dir/charts/`: outcomes, the heat map, latency, and a timeline per
/// cell that has an analysis.
pub fn render_all(dir: &Path, summary: &Summary, analyses: &BTreeMap<String, Analysis>) -> Vec<Chart> {
    let charts_dir = dir.join(CHARTS_DIR);
    let ready = std::fs::create_dir_all(&charts_dir)
        .map_err(|e| format!("cannot create {}: {e}", charts_dir.display()))
        .and_then(|()| font::register());
    let render = |stem: String, title: String, cell: Option<&str>, chart: &dyn Fn(&Path, &str) -> Result<String, String>| {
        let state = match &ready {
            Err(e) => ChartState::Failed(e.clone()),
            Ok(()) => match chart(&charts_dir, &stem) {
                Ok(svg) => ChartState::Rendered { svg },
                Err(e) => ChartState::Failed(e),
            },
        };
        Chart { stem, title, cell: cell.map(Into::into), state }
    };

    let mut charts = Vec::new();
    let outcomes = outcomes::chart(summary);
    charts.push(render("outcomes".into(), outcomes::TITLE.into(), None, &|d, s| write_both(d, s, &outcomes)));
    let heatmap = heatmap::Heatmap::new(summary);
    charts.push(render("heatmap".into(), heatmap::TITLE.into(), None, &|d, s| write_both(d, s, &heatmap)));
    let latency = latency::chart(summary, analyses);
    charts.push(render("latency".into(), latency::TITLE.into(), None, &|d, s| write_both(d, s, &latency)));
    for cell in &summary.cells {
        let Some(analysis) = analyses.get(&cell.id) else { continue };
        let timeline = timeline::TimelineChart::new(&cell.id, analysis);
        let title = timeline.title();
        charts.push(render(format!("timeline-{}", cell.id), title, Some(&cell.id), &|d, s| write_both(d, s, &timeline)));
    }
    charts
}

/// Draws `chart` as `dir/<stem>.svg` and `dir/<stem>.png`; returns the SVG text.
pub(crate) fn write_both(dir: &Path, stem: &str, chart: &impl Draw) -> Result<String, String> {
    let drawn = catch_unwind(AssertUnwindSafe(|| -> Result<String, String> {
        let svg = draw_svg(chart).map_err(|e| e.0)?;
        write_atomically(&dir.join(format!("{stem}.svg")), svg.as_bytes()).map_err(|e| e.to_string())?;
        // The bitmap backend picks its encoder by extension: the temporary name keeps `.png`.
        let temporary = dir.join(format!(".{stem}.tmp-{}.png", std::process::id()));
        let result = draw_png(chart, &temporary)
            .map_err(|e| e.0)
            .and_then(|()| std::fs::rename(&temporary, dir.join(format!("{stem}.png"))).map_err(|e| e.to_string()));
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result.map(|()| svg)
    }));
    match drawn {
        Ok(result) => result,
        Err(panic) => Err(format!("plotters panicked: {}", panic_message(&panic))),
    }
}

fn draw_svg(chart: &impl Draw) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root, Pen::SVG)?;
        root.present()?;
    }
    Ok(svg)
}

fn draw_png(chart: &impl Draw, path: &Path) -> Result<(), ChartError> {
    let root = BitMapBackend::new(path, chart.size()).into_drawing_area();
    root.fill(&WHITE)?;
    chart.draw(&root, Pen::PNG)?;
    root.present()?;
    Ok(())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Text styles, so that every chart uses the same sizes.
pub(crate) mod text {
    use super::super::palette::{INK, MUTED};
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    pub const TITLE: u32 = 24;
    pub const LABEL: u32 = 15;
    pub const TICK: u32 = 14;
    pub const SMALL: u32 = 13;

    pub fn style(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
        ("sans-serif", size).into_font().color(&INK).pos(Pos::new(h, v))
    }

    pub fn muted(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
        ("sans-serif", size).into_font().color(&MUTED).pos(Pos::new(h, v))
    }

    pub fn colored(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
        ("sans-serif", size).into_font().color(&color).pos(Pos::new(h, v))
    }
}

/// The title, centred at the top: every chart leaves `HEADER` pixels for it and the legend.
pub(crate) fn draw_title<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pen: Pen, title: &str) -> Result<(), ChartError> {
    use plotters::style::text_anchor::{HPos, VPos};
    let (width, _) = root.dim_in_pixel();
    pen.text(root, title, (width as i32 / 2, 14), &text::style(text::TITLE, HPos::Center, VPos::Top))?;
    Ok(())
}

/// Title and legend.
pub(crate) const HEADER: u32 = 84;
/// Where the legend row sits.
pub(crate) const LEGEND_Y: i32 = 60;

/// The width of `text` in pixels at `size`, with the embedded font (a rough guess without it).
pub(crate) fn text_width(text: &str, size: u32) -> u32 {
    ("sans-serif", size)
        .into_font()
        .box_size(text)
        .map(|(w, _)| w)
        .unwrap_or_else(|_| (text.chars().count() as f64 * size as f64 * 0.6) as u32)
}

/// Shortens `text` to about `max` characters, keeping both ends (cell ids differ at either end).
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    format!("{}…{}", chars[..head].iter().collect::<String>(), chars[chars.len() - tail..].iter().collect::<String>())
}

#[cfg(test)]
mod tests;
