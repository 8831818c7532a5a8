//! Grouped horizontal bars on a symmetric-log axis: one group per cell, one bar per series, the
//! value printed after each bar. Cells are rows because their ids are long; the values run along
//! the horizontal axis so that counts of very different sizes stay readable.

use super::axis::Ticked;
use super::legend::{self, Swatch};
use super::{draw_title, shorten, symlog, text, text_width, ChartError, Draw, Pen, HEADER, LEGEND_Y};
use crate::report::palette::MUTED;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

const WIDTH: u32 = 1200;
const BAR: f64 = 14.0;
const GAP: f64 = 2.0;
/// Space above and below each group.
const PAD: f64 = 26.0;
const X_AXIS: u32 = 62;
/// Longest cell id shown whole, in characters.
const LABEL_CHARS: usize = 64;

pub struct Group {
    pub label: String,
    /// A second, smaller line under the label (the verdict).
    pub sublabel: String,
    /// One value per series (None: not judged, shown as `?`); None for the whole group: nothing
    /// to draw, say `missing` instead.
    pub values: Option<Vec<Option<f64>>>,
    pub missing: String,
}

pub struct Bars {
    pub title: String,
    pub x_desc: String,
    pub series: Vec<(&'static str, RGBColor)>,
    pub groups: Vec<Group>,
    pub value_label: fn(f64) -> String,
    pub tick_label: fn(f64) -> String,
}

impl Bars {
    fn group_height(&self) -> f64 {
        let k = self.series.len().max(1) as f64;
        k * BAR + (k - 1.0) * GAP + PAD
    }

    fn label_area(&self) -> u32 {
        let widest = self
            .groups
            .iter()
            .map(|g| text_width(&shorten(&g.label, LABEL_CHARS), text::TICK))
            .max()
            .unwrap_or(0);
        widest.clamp(120, 560) + 24
    }
}

impl Draw for Bars {
    fn size(&self) -> (u32, u32) {
        let rows = self.groups.len().max(1) as f64;
        (WIDTH, HEADER + (rows * self.group_height()).ceil() as u32 + X_AXIS + 16)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> Result<(), ChartError> {
        draw_title(root, pen, &self.title)?;
        let items: Vec<(String, Swatch)> = self.series.iter().map(|(n, c)| (n.to_string(), Swatch::Bar(*c))).collect();
        legend::draw(root, pen, &items, LEGEND_Y)?;
        let (_, body) = root.split_vertically(HEADER);

        let rows = self.groups.len().max(1);
        let n = rows as f64;
        let max = self.groups.iter().filter_map(|g| g.values.as_ref()).flatten().flatten().copied().fold(0.0, f64::max);
        let top = symlog::top(max);
        let ticks = symlog::ticks(top);
        let mut chart = ChartBuilder::on(&body)
            .margin_top(6)
            .margin_right(36)
            .margin_bottom(10)
            .x_label_area_size(X_AXIS)
            .y_label_area_size(self.label_area())
            .build_cartesian_2d(Ticked::new(0.0..top, ticks.clone(), symlog::minor_ticks(top)), 0.0..n)?;
        // Every other row shaded, so that a group's bars read as one cell; the grid goes on top.
        chart.draw_series((0..rows).filter(|i| i % 2 == 1).map(|i| {
            let y = n - i as f64;
            Rectangle::new([(0.0, y - 1.0), (top, y)], RGBColor(0xf4, 0xf4, 0xf4).filled())
        }))?;
        // Grid and axes by plotters, their words by `pen`.
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&|_| String::new())
            .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc).stroke_width(1))
            .light_line_style(RGBColor(0xee, 0xee, 0xee).stroke_width(1))
            .axis_style(MUTED)
            .draw()?;
        let (left, axis_y) = chart.backend_coord(&(0.0, 0.0));
        let right = chart.backend_coord(&(top, 0.0)).0;
        for &tick in &ticks {
            let x = chart.backend_coord(&(tick, 0.0)).0;
            pen.text(root, &(self.tick_label)(tick), (x, axis_y + 9), &text::style(text::TICK, HPos::Center, VPos::Top))?;
        }
        pen.text(root, &self.x_desc, ((left + right) / 2, axis_y + 38), &text::style(text::LABEL, HPos::Center, VPos::Top))?;

        let g = self.group_height();

        for (i, group) in self.groups.iter().enumerate() {
            let row_top = n - i as f64;
            let middle = row_top - 0.5;
            let (x, y) = chart.backend_coord(&(0.0, middle));
            pen.text(root, &shorten(&group.label, LABEL_CHARS), (x - 12, y - 9), &text::style(text::TICK, HPos::Right, VPos::Center))?;
            pen.text(root, &group.sublabel, (x - 12, y + 10), &text::muted(text::SMALL, HPos::Right, VPos::Center))?;
            let Some(values) = &group.values else {
                pen.text(root, &group.missing, (x + 10, y), &text::muted(text::TICK, HPos::Left, VPos::Center))?;
                continue;
            };
            for (j, (&value, (_, color))) in values.iter().zip(&self.series).enumerate() {
                let bar_top = row_top - (PAD / 2.0 + j as f64 * (BAR + GAP)) / g;
                let bar_bottom = bar_top - BAR / g;
                let Some(value) = value else {
                    // Not judged: no bar, a question mark where the value would be.
                    let at = chart.backend_coord(&(0.0, (bar_top + bar_bottom) / 2.0));
                    pen.text(root, "? (not judged)", (at.0 + 8, at.1), &text::muted(text::SMALL, HPos::Left, VPos::Center))?;
                    continue;
                };
                let end = symlog::at(value);
                chart.draw_series(std::iter::once(Rectangle::new([(0.0, bar_bottom), (end, bar_top)], color.filled())))?;
                if value <= 0.0 {
                    // A zero has no bar: a stub in the series colour still says which one it is.
                    let (x0, y0) = chart.backend_coord(&(0.0, bar_top));
                    let (_, y1) = chart.backend_coord(&(0.0, bar_bottom));
                    root.draw(&Rectangle::new([(x0 + 1, y0), (x0 + 4, y1)], color.filled()))?;
                }
                let style = if value > 0.0 { text::style(text::SMALL, HPos::Left, VPos::Center) } else { text::muted(text::SMALL, HPos::Left, VPos::Center) };
                let at = chart.backend_coord(&(end, (bar_top + bar_bottom) / 2.0));
                pen.text(root, &(self.value_label)(value), (at.0 + if value > 0.0 { 5 } else { 8 }, at.1), &style)?;
            }
        }
        Ok(())
    }
}
