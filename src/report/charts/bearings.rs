//! Left side bearings of the embedded font, read from its own tables (`hhea`, `hmtx`, format 4
//! `cmap`), for `Pen` to place letters where ab_glyph would: plotters 0.3.7 draws bitmap glyphs
//! at the pen and drops their bearing, so letters sit unevenly (`ac ks-1 _commit`).

use std::sync::OnceLock;

/// What the bearings need from the font: its tables, read in place.
pub struct Metrics {
    font: &'static [u8],
    /// Ascender - descender: ab_glyph scales font units by `size / height`.
    height: f64,
    hmtx: usize,
    long_metrics: u16,
    /// The format 4 (Unicode BMP) character map.
    cmap: usize,
}

pub fn metrics() -> Option<&'static Metrics> {
    static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::read(super::font::DEJAVU_SANS)).as_ref()
}

impl Metrics {
    fn read(font: &'static [u8]) -> Option<Metrics> {
        let table = |tag: &[u8; 4]| -> Option<usize> {
            let count = u16_at(font, 4)? as usize;
            (0..count).map(|i| 12 + 16 * i).find(|&r| font.get(r..r + 4) == Some(tag)).and_then(|r| u32_at(font, r + 8)).map(|o| o as usize)
        };
        let hhea = table(b"hhea")?;
        let (ascender, descender) = (i16_at(font, hhea + 4)?, i16_at(font, hhea + 6)?);
        let cmap = table(b"cmap")?;
        let subtables = u16_at(font, cmap + 2)? as usize;
        let unicode = (0..subtables).map(|i| cmap + 4 + 8 * i).find_map(|r| {
            let (platform, encoding) = (u16_at(font, r)?, u16_at(font, r + 2)?);
            let at = cmap + u32_at(font, r + 4)? as usize;
            ((platform == 3 && encoding == 1) || platform == 0).then_some(at).filter(|&at| u16_at(font, at) == Some(4))
        })?;
        Some(Metrics {
            font,
            height: (ascender as f64 - descender as f64).max(1.0),
            hmtx: table(b"hmtx")?,
            long_metrics: u16_at(font, hhea + 34)?,
            cmap: unicode,
        })
    }

    /// The left side bearing of `c` in whole pixels at `size`, as ab_glyph floors it.
    pub fn bearing_px(&self, c: char, size: f64) -> i32 {
        let units = self.glyph(c).and_then(|g| self.left_bearing(g)).unwrap_or(0);
        (units as f64 * size / self.height).floor() as i32
    }

    fn left_bearing(&self, glyph: u16) -> Option<i16> {
        let long = self.long_metrics as usize;
        let g = glyph as usize;
        if g < long {
            i16_at(self.font, self.hmtx + 4 * g + 2)
        } else {
            i16_at(self.font, self.hmtx + 4 * long + 2 * (g - long))
        }
    }

    /// The glyph of `c` by the format 4 map: segments of character codes, each with an offset
    /// or a table of glyph ids.
    fn glyph(&self, c: char) -> Option<u16> {
        let code = u16::try_from(c as u32).ok()?;
        let (f, at) = (self.font, self.cmap);
        let segments = u16_at(f, at + 6)? as usize / 2;
        let ends = at + 14;
        let starts = ends + 2 * segments + 2;
        let deltas = starts + 2 * segments;
        let offsets = deltas + 2 * segments;
        let s = (0..segments).find(|&s| u16_at(f, ends + 2 * s).is_some_and(|end| end >= code))?;
        let start = u16_at(f, starts + 2 * s)?;
        if start > code {
            return None;
        }
        let delta = u16_at(f, deltas + 2 * s)?;
        let offset = u16_at(f, offsets + 2 * s)? as usize;
        if offset == 0 {
            return Some(code.wrapping_add(delta));
        }
        let glyph = u16_at(f, offsets + 2 * s + offset + 2 * (code - start) as usize)?;
        (glyph != 0).then(|| glyph.wrapping_add(delta))
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    u16_at(b, at).map(|v| v as i16)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearings_from_the_embedded_font() {
        let m = metrics().expect("DejaVu Sans has hhea, hmtx and a format 4 cmap");
        assert_eq!(m.height, 2384.0);
        // 'A' starts at its origin, '1' well right of it, '_' slightly left.
        assert_eq!(m.glyph('A').and_then(|g| m.left_bearing(g)), Some(16));
        assert!(m.bearing_px('1', 15.0) >= 1, "{}", m.bearing_px('1', 15.0));
        assert_eq!(m.glyph('\u{10000}'), None);
    }
}
