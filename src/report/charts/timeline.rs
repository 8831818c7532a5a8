//! `timeline-<cell>`: one cell's run second by second — acked, processed and errors (failed +
//! unknown) per second as lines, each fault window shaded and labelled with its action and
//! target, and the lost messages as bars at the second they were acked (their own axis on the
//! right, since a few lost would vanish next to a thousand acked).

use super::axis::Ticked;
use super::legend::{self, Swatch};
use super::{draw_title, text, text_width, ChartError, Draw, Pen, HEADER, LEGEND_Y};
use crate::checker::Analysis;
use crate::report::explain::fault_label;
use crate::report::palette::{Outcome, FAULT_SHADE, MUTED};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::FontTransform;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 580;
const MARGIN: u32 = 12;
const Y_AXIS: u32 = 84;
const X_AXIS: u32 = 56;
/// One row of fault labels.
const LABEL_ROW: i32 = 20;

pub struct TimelineChart<'a> {
    cell: &'a str,
    analysis: &'a Analysis,
}

/// A fault window in seconds, with its label and the row of labels it goes in.
struct Window {
    start: f64,
    end: f64,
    label: String,
    row: i32,
}

impl<'a> TimelineChart<'a> {
    pub fn new(cell: &'a str, analysis: &'a Analysis) -> Self {
        TimelineChart { cell, analysis }
    }

    pub fn title(&self) -> String {
        format!("Timeline of {}", self.cell)
    }

    fn seconds(&self) -> usize {
        self.analysis.timeline.seconds()
    }

    fn errors(&self) -> Vec<u64> {
        let t = &self.analysis.timeline;
        t.failed.iter().zip(&t.unknown).map(|(f, u)| f + u).collect()
    }

    fn lost_max(&self) -> u64 {
        self.analysis.timeline.lost.iter().copied().max().unwrap_or(0)
    }

    /// The fault windows, each label put in the first row where it overlaps no earlier label.
    fn windows(&self) -> Vec<Window> {
        let seconds = self.seconds().max(1) as f64;
        let (x0, x1) = (MARGIN + Y_AXIS, WIDTH - MARGIN - Y_AXIS);
        let pixel = |s: f64| x0 as f64 + (s / seconds).clamp(0.0, 1.0) * (x1 - x0) as f64;
        let mut row_ends: Vec<f64> = Vec::new();
        let mut windows = Vec::new();
        for w in &self.analysis.faults {
            let start = w.start_ms.map_or(0.0, |ms| ms / 1000.0);
            let end = w.end_ms.map_or(seconds, |ms| ms / 1000.0);
            let label = match w.end_ms {
                Some(_) => fault_label(w),
                None => format!("{} (never ended)", fault_label(w)),
            };
            let left = pixel(start) + 4.0;
            let right = left + text_width(&label, text::SMALL) as f64 + 8.0;
            let row = match row_ends.iter().position(|&end| end < left) {
                Some(r) => r,
                None => {
                    row_ends.push(0.0);
                    row_ends.len() - 1
                }
            };
            row_ends[row] = right;
            windows.push(Window { start, end, label, row: row as i32 });
        }
        windows
    }
}

impl Draw for TimelineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> Result<(), ChartError> {
        draw_title(root, pen, &self.title())?;
        let lost_max = self.lost_max();
        let mut items = vec![
            ("acked / s".to_string(), Swatch::Line(Outcome::Acked.color())),
            ("processed / s".to_string(), Swatch::Line(Outcome::Processed.color())),
            ("errors (failed + unknown) / s".to_string(), Swatch::Line(Outcome::Errors.color())),
        ];
        if lost_max > 0 {
            items.push(("lost, by second acked (right axis)".to_string(), Swatch::Bar(Outcome::Lost.color())));
        }
        if !self.analysis.faults.is_empty() {
            items.push(("fault window".to_string(), Swatch::Shade(FAULT_SHADE)));
        }
        legend::draw(root, pen, &items, LEGEND_Y)?;
        let (_, body) = root.split_vertically(HEADER);

        let seconds = self.seconds();
        if seconds == 0 {
            let (w, h) = body.dim_in_pixel();
            pen.text(&body, "no events in this cell's history", (w as i32 / 2, h as i32 / 2), &text::muted(text::LABEL, HPos::Center, VPos::Center))?;
            return Ok(());
        }
        let t = &self.analysis.timeline;
        let errors = self.errors();
        let windows = self.windows();
        let rows = windows.iter().map(|w| w.row + 1).max().unwrap_or(0);
        // Room above the data for the rows of fault labels.
        let plot_height = (HEIGHT - HEADER - 2 * MARGIN - X_AXIS) as f64;
        let headroom = ((rows * LABEL_ROW) as f64 + 12.0) / plot_height;
        let stretch = 1.06 / (1.0 - headroom).max(0.3);
        let data_max = t.acked.iter().chain(&t.processed).chain(&errors).copied().max().unwrap_or(0).max(1) as f64;
        let (x_top, y_top, lost_top) = (seconds as f64, data_max * stretch, lost_max.max(1) as f64 * stretch);

        let (x_ticks, y_ticks) = (integer_ticks(x_top, 12), integer_ticks(data_max * 1.06, 6));
        let lost_ticks = integer_ticks(lost_max as f64 * 1.06, 5);
        let mut chart = ChartBuilder::on(&body)
            .margin(MARGIN)
            .x_label_area_size(X_AXIS)
            .y_label_area_size(Y_AXIS)
            .right_y_label_area_size(Y_AXIS)
            .build_cartesian_2d(Ticked::new(0.0..x_top, x_ticks.clone(), vec![]), Ticked::new(0.0..y_top, y_ticks.clone(), vec![]))?
            .set_secondary_coord(0.0..x_top, Ticked::new(0.0..lost_top, lost_ticks.clone(), vec![]));
        // Grid and axes by plotters, their words by `pen`.
        chart
            .configure_mesh()
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|_| String::new())
            .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4).stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(MUTED)
            .draw()?;
        let (left, bottom) = chart.backend_coord(&(0.0, 0.0));
        let (right, top) = chart.backend_coord(&(x_top, y_top));
        let tick = text::style(text::TICK, HPos::Center, VPos::Top);
        for &s in &x_ticks {
            pen.text(root, &format!("{s:.0}"), (chart.backend_coord(&(s, 0.0)).0, bottom + 9), &tick)?;
        }
        for &n in &y_ticks {
            let y = chart.backend_coord(&(0.0, n)).1;
            pen.text(root, &format!("{n:.0}"), (left - 9, y), &text::style(text::TICK, HPos::Right, VPos::Center))?;
        }
        let middle = (top + bottom) / 2;
        let label = text::style(text::LABEL, HPos::Center, VPos::Top);
        pen.text(root, "seconds since the start of the run", ((left + right) / 2, bottom + 34), &label)?;
        pen.text(root, "messages per second", (MARGIN as i32 + 4, middle), &label.transform(FontTransform::Rotate270))?;
        if lost_max > 0 {
            let lost = Outcome::Lost.color();
            chart.configure_secondary_axes().y_label_formatter(&|_| String::new()).axis_style(lost).draw()?;
            let secondary = chart.borrow_secondary();
            for &n in &lost_ticks {
                let y = secondary.backend_coord(&(0.0, n)).1;
                pen.text(root, &format!("{n:.0}"), (right + 9, y), &text::colored(text::TICK, lost, HPos::Left, VPos::Center))?;
            }
            let (width, _) = root.dim_in_pixel();
            let style = text::colored(text::LABEL, lost, HPos::Center, VPos::Bottom).transform(FontTransform::Rotate270);
            pen.text(root, "lost, by second acked", (width as i32 - MARGIN as i32 - 4, middle), &style)?;
        }

        for w in &windows {
            chart.draw_series(std::iter::once(Rectangle::new([(w.start, 0.0), (w.end, y_top)], FAULT_SHADE.mix(0.16).filled())))?;
            for edge in [w.start, w.end] {
                chart.draw_series(std::iter::once(PathElement::new(vec![(edge, 0.0), (edge, y_top)], FAULT_SHADE.stroke_width(1))))?;
            }
        }
        if lost_max > 0 {
            chart.draw_secondary_series(t.lost.iter().enumerate().filter(|(_, &n)| n > 0).map(|(s, &n)| {
                Rectangle::new([(s as f64 + 0.12, 0.0), (s as f64 + 0.88, n as f64)], Outcome::Lost.color().filled())
            }))?;
        }
        let series = [(&t.acked, Outcome::Acked), (&t.processed, Outcome::Processed), (&errors, Outcome::Errors)];
        for (values, outcome) in series {
            let points = values.iter().enumerate().map(|(s, &n)| (s as f64 + 0.5, n as f64));
            chart.draw_series(LineSeries::new(points, outcome.color().stroke_width(2)))?;
        }
        // Labels last, over the lines.
        let plot_top = chart.backend_coord(&(0.0, y_top)).1;
        for w in &windows {
            let x = chart.backend_coord(&(w.start, 0.0)).0 + 4;
            let y = plot_top + 6 + w.row * LABEL_ROW;
            pen.text(root, &w.label, (x, y), &text::style(text::SMALL, HPos::Left, VPos::Top))?;
        }
        Ok(())
    }
}

/// Ticks on whole numbers, about `count` of them from 0 to past `max`: 1, 2 or 5 times a power
/// of ten apart.
fn integer_ticks(max: f64, count: usize) -> Vec<f64> {
    let rough = (max.max(1.0) / count as f64).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|&s| s >= rough).unwrap_or(power * 10.0);
    (0..).map(|i| i as f64 * step).take_while(|&v| v <= max.max(1.0) + step * 0.01).collect()
}

#[cfg(test)]
mod tests {
    use super::integer_ticks;

    #[test]
    fn ticks_are_whole_and_round() {
        assert_eq!(integer_ticks(3.0, 5), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(integer_ticks(413.0, 6), [0.0, 100.0, 200.0, 300.0, 400.0]);
        assert_eq!(integer_ticks(1200.0, 6), [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0]);
        assert_eq!(integer_ticks(0.0, 5), [0.0, 1.0]);
    }
}
