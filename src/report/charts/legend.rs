//! A legend in one row under the title, so that it never covers data (plotters' own legend box
//! sits inside the plot).

use super::{text, ChartError, Pen};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

pub enum Swatch {
    /// A filled square: bars, heat.
    Bar(RGBColor),
    /// A short thick line: a series.
    Line(RGBColor),
    /// A translucent square with a border: a shaded window.
    Shade(RGBColor),
}

const SWATCH: i32 = 14;
const AFTER_SWATCH: i32 = 6;
const BETWEEN: i32 = 26;

/// Draws the items centred on row `y` of `root`.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pen: Pen, items: &[(String, Swatch)], y: i32) -> Result<(), ChartError> {
    let style = text::style(text::LABEL, HPos::Left, VPos::Center);
    let mut widths = Vec::with_capacity(items.len());
    for (label, _) in items {
        widths.push(root.estimate_text_size(label, &style)?.0 as i32);
    }
    let total: i32 = widths.iter().map(|w| SWATCH + AFTER_SWATCH + w).sum::<i32>() + BETWEEN * (items.len() as i32 - 1).max(0);
    let (width, _) = root.dim_in_pixel();
    let mut x = (width as i32 - total).max(0) / 2;
    for ((label, swatch), w) in items.iter().zip(widths) {
        let (x0, y0, x1, y1) = (x, y - SWATCH / 2, x + SWATCH, y + SWATCH / 2);
        match swatch {
            Swatch::Bar(c) => root.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.filled()))?,
            Swatch::Line(c) => root.draw(&PathElement::new(vec![(x0, y), (x1, y)], c.stroke_width(3)))?,
            Swatch::Shade(c) => {
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.mix(0.25).filled()))?;
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.stroke_width(1)))?;
            }
        }
        pen.text(root, label, (x1 + AFTER_SWATCH, y), &style)?;
        x = x1 + AFTER_SWATCH + w + BETWEEN;
    }
    Ok(())
}
