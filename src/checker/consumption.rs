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
/// was processed). A record is its (partition, offset) and its message: after an unclean
/// election the same offset can hold another message, and processing both is no redelivery.
/// `processed`: every processed event per partition, sorted by offset; `log`: each partition's
/// log records sorted by offset, to name the message of a record.
pub(crate) fn redelivered(processed: &[(i32, Vec<LogEntry>)], log: &[(i32, Vec<LogEntry>)]) -> (u64, Vec<Sample>) {
    let mut count = 0;
    let mut found = Vec::new();
    for (partition, entries) in processed {
        for at_offset in entries.chunk_by(|a, b| a.offset == b.offset) {
            let mut identities: Vec<(u32, u64)> = at_offset.iter().map(|e| (e.producer, e.seq)).collect();
            identities.sort_unstable();
            for same in identities.chunk_by(|a, b| a == b).filter(|same| same.len() >= 2) {
                count += 1;
                let offset = at_offset[0].offset;
                samples::keep(&mut found, || sample(*partition, offset, same.len(), log));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: i64, producer: u32, seq: u64) -> LogEntry {
        LogEntry { offset, seq, producer }
    }

    #[test]
    fn one_offset_holding_two_messages_is_no_redelivery() {
        // Offset 5 processed as (0, 5), then, after an unclean election rewrote it, as (0, 9).
        let processed = vec![(0, vec![entry(4, 0, 4), entry(5, 0, 5), entry(5, 0, 9)])];
        assert_eq!(redelivered(&processed, &[]).0, 0);
        let processed = vec![(0, vec![entry(5, 0, 5), entry(5, 0, 9), entry(5, 0, 5)])];
        assert_eq!(redelivered(&processed, &[]).0, 1);
    }
}
