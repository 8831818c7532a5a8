//! What the producers were told against what the log holds: outcomes, messages in the log,
//! unexpected ones (failed or never sent, yet in the log) and recovered ones (unknown outcome,
//! in the log).

use super::analysis::Sample;
use super::messages::Message;
use super::samples;
use crate::history::SendOutcome;

#[derive(Debug, Default)]
pub(crate) struct Delivery {
    pub acked: u64,
    pub failed: u64,
    pub unknown: u64,
    pub in_log: u64,
    pub unexpected: u64,
    pub recovered: u64,
    pub unexpected_samples: Vec<Sample>,
    pub recovered_samples: Vec<Sample>,
}

impl Delivery {
    pub fn observe(&mut self, producer: u32, seq: u64, m: &Message) {
        let outcome = m.outcome();
        match outcome {
            Some(SendOutcome::Acked) => self.acked += 1,
            Some(SendOutcome::Failed) => self.failed += 1,
            Some(SendOutcome::Unknown) => self.unknown += 1,
            None => {}
        }
        if m.log_records() == 0 {
            return;
        }
        self.in_log += 1;
        match outcome {
            Some(SendOutcome::Failed) | None => {
                self.unexpected += 1;
                samples::keep(&mut self.unexpected_samples, || samples::message(producer, seq));
            }
            Some(SendOutcome::Unknown) => {
                self.recovered += 1;
                samples::keep(&mut self.recovered_samples, || samples::message(producer, seq));
            }
            Some(SendOutcome::Acked) => {}
        }
    }
}
