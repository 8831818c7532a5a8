//! A linear f64 axis with ticks we choose (powers of ten on the symmetric-log axis, whole
//! numbers on the timeline). plotters' own `with_key_points` on f64 cannot take a label
//! formatter, so this is the small coordinate that can.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use std::ops::Range;

pub struct Ticked {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
    /// Grid lines without labels.
    minor: Vec<f64>,
}

impl Ticked {
    pub fn new(range: Range<f64>, ticks: Vec<f64>, minor: Vec<f64>) -> Ticked {
        Ticked { linear: range.into(), ticks, minor }
    }
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}
