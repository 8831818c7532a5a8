//! Writes every text of a chart. For the SVG a text is one `<text>` element (the browser lays
//! it out); for the PNG it is drawn one letter at a time, each at its pen position plus its left
//! side bearing, because plotters' bitmap text drops the bearings and letters sit unevenly.

use super::bearings::metrics;
use super::ChartError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos};
use plotters::style::FontTransform;

#[derive(Debug, Clone, Copy)]
pub struct Pen {
    /// Letter by letter (PNG) rather than whole texts (SVG).
    pub per_letter: bool,
}

impl Pen {
    pub const SVG: Pen = Pen { per_letter: false };
    pub const PNG: Pen = Pen { per_letter: true };

    /// Draws `text` anchored at `pos` (in `area`'s pixels) as `style` says.
    pub fn text<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        pos: (i32, i32),
        style: &TextStyle,
    ) -> Result<(), ChartError> {
        let transform = style.font.get_transform();
        let upward = matches!(transform, FontTransform::Rotate270);
        if !self.per_letter || text.is_empty() || !(upward || matches!(transform, FontTransform::None)) {
            area.draw(&Text::new(text.to_string(), pos, style.clone()))?;
            return Ok(());
        }
        let width = |s: &str| style.font.layout_box(s).map(|((x0, _), (x1, _))| x1 - x0).unwrap_or(0);
        let total = width(text);
        let start = match style.pos.h_pos {
            HPos::Left => 0,
            HPos::Center => -total / 2,
            HPos::Right => -total,
        };
        let letter = style.pos(Pos::new(HPos::Left, style.pos.v_pos));
        let size = style.font.get_size();
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            // Where `c` starts: the width up to and including it (so with kerning), less its own.
            let pen = width(&text[..end]) - width(&text[i..end]);
            let along = start + pen + metrics().map_or(0, |m| m.bearing_px(c, size));
            let at = if upward { (pos.0, pos.1 - along) } else { (pos.0 + along, pos.1) };
            area.draw(&Text::new(text[i..end].to_string(), at, letter.clone()))?;
        }
        Ok(())
    }
}
