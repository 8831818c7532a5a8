//! Acked messages missing from the log, each placed in the fault window it was acked in, and
//! counted by the second it was acked in.

use super::analysis::{FaultWindow, LostDetail, LostInWindow, Relation, Sample};
use super::faults;
use super::messages::Message;
use super::samples;
use super::timeline::second_of;
use crate::history::SendOutcome;
use std::collections::BTreeMap;

pub(crate) struct Lost<'a> {
    faults: &'a [FaultWindow],
    pub lost: u64,
    by_window: BTreeMap<(Relation, Option<usize>), (u64, f64, f64)>,
    per_second: Vec<u64>,
    pub samples: Vec<Sample>,
}

impl<'a> Lost<'a> {
    pub fn new(faults: &'a [FaultWindow]) -> Self {
        Lost { faults, lost: 0, by_window: BTreeMap::new(), per_second: Vec::new(), samples: Vec::new() }
    }

    pub fn observe(&mut self, producer: u32, seq: u64, m: &Message) {
        if m.outcome() != Some(SendOutcome::Acked) || m.log_records() > 0 {
            return;
        }
        self.lost += 1;
        let acked_ms = m.sent_ms().unwrap_or_default();
        let (relation, fault) = faults::locate(self.faults, acked_ms);
        let window = self.by_window.entry((relation, fault)).or_insert((0, acked_ms, acked_ms));
        window.0 += 1;
        window.1 = window.1.min(acked_ms);
        window.2 = window.2.max(acked_ms);
        let second = second_of(acked_ms);
        if second >= self.per_second.len() {
            self.per_second.resize(second + 1, 0);
        }
        self.per_second[second] += 1;
        samples::keep(&mut self.samples, || {
            let (partition, offset) = m.send_record().unzip();
            Sample {
                partition,
                offset,
                fault: Some(faults::context(self.faults, relation, fault)),
                ..samples::message(producer, seq)
            }
        });
    }

    pub fn finish(self) -> (u64, LostDetail, Vec<Sample>) {
        let by_fault = self
            .by_window
            .into_iter()
            .map(|((relation, fault), (count, first, last))| LostInWindow {
                context: faults::context(self.faults, relation, fault),
                count,
                first_acked_ms: first,
                last_acked_ms: last,
            })
            .collect();
        let per_second =
            self.per_second.iter().enumerate().filter(|(_, &n)| n > 0).map(|(s, &n)| (s as u64, n)).collect();
        (self.lost, LostDetail { by_fault, per_second }, self.samples)
    }
}
