//! `heatmap`: the matrix at a glance. Rows are configurations (a cell's config without its
//! fault), columns are faults, each square coloured by the messages lost there, with the number
//! written in it. Squares of cells that were not run, or whose lost count was not judged (the
//! evidence behind it is missing), are grey with `?`; combinations the matrix left out are blank.

use super::{draw_title, shorten, symlog, text, text_width, ChartError, Draw, Pen, HEADER, LEGEND_Y};
use crate::report::explain::{config_text, thousands};
use crate::report::palette::{Outcome, INK, MUTED};
use crate::scenario::NO_FAULT;
use crate::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::BTreeMap;

pub const TITLE: &str = "Lost messages by configuration and fault";

const FAULT_KEY: &str = "fault";
const ROW: i32 = 46;
const COLUMN_HEADER: i32 = 50;
const MIN_COLUMN: i32 = 110;
const MIN_WIDTH: i32 = 760;
const LABEL_CHARS: usize = 80;
const ZERO: RGBColor = RGBColor(0xf1, 0xf1, 0xf1);
const NOT_RUN: RGBColor = RGBColor(0xc9, 0xc9, 0xc9);
/// The palest shade of a square with losses: far enough from ZERO to tell 1 lost from none.
const FIRST_SHADE: f64 = 0.22;

pub struct Heatmap {
    rows: Vec<String>,
    columns: Vec<String>,
    /// (row, column) -> the lost count of each cell there (more than one with repetitions);
    /// None for a cell without a judged lost count.
    squares: BTreeMap<(usize, usize), Vec<Option<u64>>>,
    max: u64,
}

impl Heatmap {
    pub fn new(summary: &Summary) -> Heatmap {
        let mut rows: Vec<String> = Vec::new();
        let mut columns: Vec<String> = Vec::new();
        let mut squares: BTreeMap<(usize, usize), Vec<Option<u64>>> = BTreeMap::new();
        let index = |list: &mut Vec<String>, value: String| match list.iter().position(|v| *v == value) {
            Some(i) => i,
            None => {
                list.push(value);
                list.len() - 1
            }
        };
        for cell in &summary.cells {
            let config = config_text(&cell.config, FAULT_KEY);
            let row = index(&mut rows, if config.is_empty() { "(no other key)".into() } else { config });
            let fault = cell.config.get(FAULT_KEY).cloned().unwrap_or_else(|| NO_FAULT.to_string());
            let column = index(&mut columns, fault);
            let judged = cell.judged(crate::scenario::Count::Lost);
            squares.entry((row, column)).or_default().push(cell.counts.filter(|_| judged).map(|c| c.lost));
        }
        let max = squares.values().flatten().flatten().copied().max().unwrap_or(0);
        Heatmap { rows, columns, squares, max }
    }

    fn label_area(&self) -> i32 {
        let widest = self.rows.iter().map(|r| text_width(&shorten(r, LABEL_CHARS), text::TICK)).max().unwrap_or(0);
        widest.max(text_width("configuration", text::LABEL)) as i32 + 28
    }

    fn column_width(&self) -> i32 {
        let widest = self.columns.iter().map(|c| text_width(c, text::TICK)).max().unwrap_or(0) as i32;
        (widest + 24).max(MIN_COLUMN)
    }

    fn grid_width(&self) -> i32 {
        self.label_area() + self.columns.len().max(1) as i32 * self.column_width()
    }

    /// The colour of a square whose worst cell lost `lost`.
    fn shade(&self, lost: u64) -> RGBColor {
        if lost == 0 {
            return ZERO;
        }
        let t = FIRST_SHADE + (1.0 - FIRST_SHADE) * symlog::at(lost as f64) / symlog::at(self.max.max(1) as f64);
        mix(ZERO, Outcome::Lost.color(), t)
    }
}

impl Draw for Heatmap {
    fn size(&self) -> (u32, u32) {
        let width = (self.grid_width() + 40).max(MIN_WIDTH);
        let height = HEADER as i32 + COLUMN_HEADER + self.rows.len().max(1) as i32 * ROW + 28;
        (width as u32, height as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> Result<(), ChartError> {
        draw_title(root, pen, TITLE)?;
        self.draw_scale(root, pen)?;
        let (width, _) = self.size();
        let left = (width as i32 - self.grid_width()) / 2;
        let label_area = self.label_area();
        let cw = self.column_width();
        let grid_x = left + label_area;
        let grid_y = HEADER as i32 + COLUMN_HEADER;

        // Axis names: faults across the top, configurations down the left.
        let columns_middle = grid_x + cw * self.columns.len() as i32 / 2;
        pen.text(root, "fault", (columns_middle, HEADER as i32 + 4), &text::muted(text::LABEL, HPos::Center, VPos::Top))?;
        pen.text(root, "configuration", (grid_x - 14, grid_y - 14), &text::muted(text::LABEL, HPos::Right, VPos::Center))?;
        for (c, column) in self.columns.iter().enumerate() {
            let x = grid_x + c as i32 * cw + cw / 2;
            pen.text(root, column, (x, grid_y - 14), &text::style(text::TICK, HPos::Center, VPos::Center))?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let y = grid_y + r as i32 * ROW;
            pen.text(root, &shorten(row, LABEL_CHARS), (grid_x - 14, y + ROW / 2), &text::style(text::TICK, HPos::Right, VPos::Center))?;
            for c in 0..self.columns.len() {
                let x = grid_x + c as i32 * cw;
                let (x0, y0, x1, y1) = (x + 2, y + 2, x + cw - 2, y + ROW - 2);
                let centre = ((x0 + x1) / 2, (y0 + y1) / 2);
                let Some(lost) = self.squares.get(&(r, c)) else {
                    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], RGBColor(0xdd, 0xdd, 0xdd).stroke_width(1)))?;
                    pen.text(root, "–", centre, &text::muted(text::TICK, HPos::Center, VPos::Center))?;
                    continue;
                };
                let worst = lost.iter().flatten().copied().max();
                let fill = match worst {
                    Some(n) => self.shade(n),
                    None => NOT_RUN,
                };
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))?;
                let label: Vec<String> = lost.iter().map(|l| l.map_or("?".to_string(), thousands)).collect();
                let dark = worst.is_some_and(|n| n > 0 && luminance(fill) < 0.5);
                let color = if dark { WHITE } else if worst == Some(0) { MUTED } else { INK };
                pen.text(root, &label.join(" / "), centre, &text::colored(text::LABEL, color, HPos::Center, VPos::Center))?;
            }
        }
        Ok(())
    }
}

impl Heatmap {
    /// The legend: none lost, the lost scale from 1 to the most, and not run.
    fn draw_scale<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> Result<(), ChartError> {
        const SWATCH: i32 = 14;
        const RAMP: i32 = 180;
        let y = LEGEND_Y;
        let label = text::style(text::LABEL, HPos::Left, VPos::Center);
        let most = format!("{} lost", thousands(self.max.max(1)));
        let parts = ["0 lost", "1", most.as_str(), "? not judged (no evidence)"];
        let widths: Vec<i32> = parts.iter().map(|p| text_width(p, text::LABEL) as i32).collect();
        let total = SWATCH + 6 + widths[0] + 30 + widths[1] + 6 + RAMP + 6 + widths[2] + 30 + SWATCH + 6 + widths[3];
        let (width, _) = root.dim_in_pixel();
        let mut x = (width as i32 - total).max(0) / 2;

        root.draw(&Rectangle::new([(x, y - SWATCH / 2), (x + SWATCH, y + SWATCH / 2)], ZERO.filled()))?;
        root.draw(&Rectangle::new([(x, y - SWATCH / 2), (x + SWATCH, y + SWATCH / 2)], RGBColor(0xbb, 0xbb, 0xbb).stroke_width(1)))?;
        x += SWATCH + 6;
        pen.text(root, parts[0], (x, y), &label)?;
        x += widths[0] + 30;
        pen.text(root, parts[1], (x, y), &label)?;
        x += widths[1] + 6;
        for step in 0..RAMP {
            let t = FIRST_SHADE + (1.0 - FIRST_SHADE) * step as f64 / (RAMP - 1) as f64;
            root.draw(&Rectangle::new([(x + step, y - SWATCH / 2), (x + step + 1, y + SWATCH / 2)], mix(ZERO, Outcome::Lost.color(), t).filled()))?;
        }
        x += RAMP + 6;
        pen.text(root, &most, (x, y), &label)?;
        x += widths[2] + 30;
        root.draw(&Rectangle::new([(x, y - SWATCH / 2), (x + SWATCH, y + SWATCH / 2)], NOT_RUN.filled()))?;
        x += SWATCH + 6;
        pen.text(root, parts[3], (x, y), &label)?;
        Ok(())
    }
}

fn mix(from: RGBColor, to: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let channel = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    RGBColor(channel(from.0, to.0), channel(from.1, to.1), channel(from.2, to.2))
}

fn luminance(c: RGBColor) -> f64 {
    (0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64) / 255.0
}
