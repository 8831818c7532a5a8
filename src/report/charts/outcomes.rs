//! `outcomes`: the anomalies of every cell side by side — lost, duplicated, reordered,
//! unconsumed, redelivered — as grouped bars on a symmetric-log axis with each number printed.

use super::bars::{Bars, Group};
use super::symlog;
use crate::report::explain::{thousands, verdict_word};
use crate::report::palette::Outcome;
use crate::summary::Summary;

pub const TITLE: &str = "Outcomes per cell";

pub fn chart(summary: &Summary) -> Bars {
    Bars {
        title: TITLE.into(),
        x_desc: "messages (symmetric log scale: 0, 1, 10, 100, …)".into(),
        series: Outcome::KEY_COUNTS.iter().map(|o| (o.name(), o.color())).collect(),
        groups: summary
            .cells
            .iter()
            .map(|cell| Group {
                label: cell.id.clone(),
                sublabel: match &cell.counts {
                    Some(c) => format!("{} · {:.0}% definite", verdict_word(cell.verdict), c.definite_share() * 100.0),
                    None => verdict_word(cell.verdict).into(),
                },
                values: cell.counts.as_ref().map(|c| {
                    Outcome::KEY_COUNTS
                        .iter()
                        .map(|o| o.judged_in(cell).then(|| o.count(c).unwrap_or_default() as f64))
                        .collect()
                }),
                missing: "no counts: the cell could not be run or checked".into(),
            })
            .collect(),
        value_label: |v| thousands(v as u64),
        tick_label: symlog::count_label,
    }
}
