//! `latency`: acknowledgement latency per cell — p50, p90, p99 and max — as grouped bars on a
//! symmetric-log axis in milliseconds (a leader kill stretches the tail by orders of magnitude).

use super::bars::{Bars, Group};
use super::symlog;
use crate::checker::Analysis;
use crate::report::explain::{millis, verdict_word};
use crate::report::palette::PERCENTILES;
use crate::summary::Summary;
use std::collections::BTreeMap;

pub const TITLE: &str = "Acknowledgement latency per cell";

pub fn chart(summary: &Summary, analyses: &BTreeMap<String, Analysis>) -> Bars {
    Bars {
        title: TITLE.into(),
        x_desc: "milliseconds from send to acknowledgement (symmetric log scale)".into(),
        series: PERCENTILES.to_vec(),
        groups: summary
            .cells
            .iter()
            .map(|cell| {
                let latency = analyses.get(&cell.id).and_then(|a| a.latency_ms);
                Group {
                    label: cell.id.clone(),
                    sublabel: match latency {
                        Some(l) => format!("{} acks", crate::report::explain::thousands(l.count)),
                        None => verdict_word(cell.verdict).into(),
                    },
                    values: latency.map(|l| vec![Some(l.p50), Some(l.p90), Some(l.p99), Some(l.max)]),
                    missing: "no latency recorded".into(),
                }
            })
            .collect(),
        value_label: millis,
        tick_label: symlog::millis_label,
    }
}
