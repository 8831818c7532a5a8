//! Messages written to the log more than once (a producer retry without idempotence, mostly).

use super::analysis::Sample;
use super::messages::Message;
use super::samples;

#[derive(Debug, Default)]
pub(crate) struct Duplicates {
    pub duplicated: u64,
    pub samples: Vec<Sample>,
}

impl Duplicates {
    pub fn observe(&mut self, producer: u32, seq: u64, m: &Message) {
        if m.log_records() >= 2 {
            self.duplicated += 1;
            samples::keep(&mut self.samples, || samples::message(producer, seq));
        }
    }
}
