//! What the consumers did with the log: messages never processed, messages processed more
//! than once, and records delivered to processing more than once.

use super::analysis::Sample;
use super::messages::Message;
use super::samples;
use super::tally::LogEntry;

#[derive(Debug, Default)]
pub(crate) struct Consumption {
    pub unconsumed: u64,
    pub processed_twice: u64,
    pub unconsumed_samples: Vec<Sample>,
    pub processed_twice_samples: Vec<Sample>,
}

impl Consumption {
    pub fn observe(&mut self, producer: u32, seq: u64, m: &Message) {
        if m.log_records() > 0 && m.processed() == 0 {
            self.unconsumed += 1;
            samples::keep(&mut self.unconsumed_samples, || samples::message(producer, seq));
        }
        if m.processed() >= 2 {
            self.processed_twice += 1;
            samples::keep(&mut self.processed_twice_samples, || samples::message(producer, seq));
        }
    }
}

/// Records processed two or more times (each such record counts once, however many times it
/// was processed). `processed`: the offset of every processed event per partition, sorted;
/// `log`: each partition's log records sorted by offset, to name the message of a record.
pub(crate) fn redelivered(processed: &[(i32, Vec<i64>)], log: &[(i32, Vec<LogEntry>)]) -> (u64, Vec<Sample>) {
    let mut count = 0;
    let mut found = Vec::new();
    for (partition, offsets) in processed {
        let mut i = 0;
        while i < offsets.len() {
            let run = offsets[i..].iter().take_while(|&&o| o == offsets[i]).count();
            if run >= 2 {
                count += 1;
                samples::keep(&mut found, || sample(*partition, offsets[i], run, log));
            }
            i += run;
        }
    }
    (count, found)
}

fn sample(partition: i32, offset: i64, times: usize, log: &[(i32, Vec<LogEntry>)]) -> Sample {
    let entry = log.binary_search_by_key(&partition, |(p, _)| *p).ok().and_then(|i| {
        let entries = &log[i].1;
        entries.binary_search_by_key(&offset, |e| e.offset).ok().map(|j| entries[j])
    });
    Sample {
        producer: entry.map(|e| e.producer),
        seq: entry.map(|e| e.seq),
        partition: Some(partition),
        offset: Some(offset),
        note: Some(if entry.is_some() {
            format!("processed {times} times")
        } else {
            format!("processed {times} times; not in the final log")
        }),
        ..Sample::default()
    }
}
