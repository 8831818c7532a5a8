//! One colour per outcome, used by every chart and by the HTML report, so that lost is the same
//! vermillion everywhere. Okabe–Ito colours (distinguishable with colour-blindness), plus two dark
//! ones for the series that never share a chart with their look-alikes.

use plotters::style::RGBColor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Lost,
    Duplicated,
    Reordered,
    Unconsumed,
    Redelivered,
    Acked,
    Processed,
    /// Failed + unknown sends.
    Errors,
}

impl Outcome {
    /// The anomalies every report shows per cell, in this order.
    pub const KEY_COUNTS: [Outcome; 5] =
        [Outcome::Lost, Outcome::Duplicated, Outcome::Reordered, Outcome::Unconsumed, Outcome::Redelivered];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Lost => "lost",
            Outcome::Duplicated => "duplicated",
            Outcome::Reordered => "reordered",
            Outcome::Unconsumed => "unconsumed",
            Outcome::Redelivered => "redelivered",
            Outcome::Acked => "acked",
            Outcome::Processed => "processed",
            Outcome::Errors => "errors",
        }
    }

    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Outcome::Lost => (0xD5, 0x5E, 0x00),
            Outcome::Duplicated => (0xE6, 0x9F, 0x00),
            Outcome::Reordered => (0xCC, 0x79, 0xA7),
            Outcome::Unconsumed => (0x00, 0x72, 0xB2),
            Outcome::Redelivered => (0x56, 0xB4, 0xE9),
            Outcome::Acked => (0x00, 0x9E, 0x73),
            Outcome::Processed => (0x33, 0x22, 0x88),
            Outcome::Errors => (0x88, 0x22, 0x55),
        }
    }

    pub fn color(self) -> RGBColor {
        let (r, g, b) = self.rgb();
        RGBColor(r, g, b)
    }

    /// `#d55e00`, for CSS.
    pub fn hex(self) -> String {
        let (r, g, b) = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// The checker's count this outcome shows (for whether it was judged); None for series that
    /// are not one count.
    pub fn as_count(self) -> Option<crate::scenario::Count> {
        use crate::scenario::Count;
        match self {
            Outcome::Lost => Some(Count::Lost),
            Outcome::Duplicated => Some(Count::Duplicated),
            Outcome::Reordered => Some(Count::Reordered),
            Outcome::Unconsumed => Some(Count::Unconsumed),
            Outcome::Redelivered => Some(Count::Redelivered),
            Outcome::Acked => Some(Count::Acked),
            Outcome::Processed | Outcome::Errors => None,
        }
    }

    /// Whether this outcome of `cell` may be shown as a number: false shows `?`.
    pub fn judged_in(self, cell: &crate::summary::CellSummary) -> bool {
        cell.counts.is_some() && self.as_count().is_none_or(|c| cell.judged(c))
    }

    /// The count of this outcome in a cell's counts; None for the timeline-only series.
    pub fn count(self, counts: &crate::checker::Counts) -> Option<u64> {
        match self {
            Outcome::Lost | Outcome::Duplicated | Outcome::Reordered | Outcome::Unconsumed | Outcome::Redelivered | Outcome::Acked => {
                self.as_count().map(|c| counts.get(c))
            }
            Outcome::Errors => Some(counts.failed + counts.unknown),
            Outcome::Processed => None,
        }
    }
}

/// Fault windows: a neutral shade that leaves the outcome colours readable on top of it.
pub const FAULT_SHADE: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);
/// Text and axes.
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x6b, 0x6b, 0x6b);
/// Latency percentiles are not outcomes: shades of grey, light (p50) to dark (max).
pub const PERCENTILES: [(&str, RGBColor); 4] = [
    ("p50", RGBColor(0xc8, 0xc8, 0xc8)),
    ("p90", RGBColor(0x9a, 0x9a, 0x9a)),
    ("p99", RGBColor(0x62, 0x62, 0x62)),
    ("max", RGBColor(0x25, 0x25, 0x25)),
];
