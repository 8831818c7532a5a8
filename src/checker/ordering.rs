//! Records of one producer out of seq order within a partition: a record after (at a higher
//! offset than) a record of the same producer with a strictly higher seq. A retried message
//! written after newer ones counts, once per such record.

use super::analysis::Sample;
use super::keyed::KeyedMap;
use super::samples;
use super::tally::LogEntry;

#[derive(Debug, Default)]
pub(crate) struct Ordering {
    pub reordered: u64,
    pub samples: Vec<Sample>,
    /// Log records at an offset already listed for the partition (the final reader read twice).
    pub repeated_records: u64,
}

/// `log`: each partition's records sorted by offset.
pub(crate) fn check(log: &[(i32, Vec<LogEntry>)]) -> Ordering {
    let mut result = Ordering::default();
    for (partition, entries) in log {
        // The highest seq seen so far of each producer, and its offset.
        let mut highest: KeyedMap<Option<(u64, i64)>> = KeyedMap::default();
        let mut previous_offset = None;
        for e in entries {
            if previous_offset == Some(e.offset) {
                result.repeated_records += 1;
            }
            previous_offset = Some(e.offset);
            let slot = highest.entry(e.producer as i64);
            match *slot {
                Some((seq, offset)) if e.seq < seq => {
                    result.reordered += 1;
                    samples::keep(&mut result.samples, || Sample {
                        partition: Some(*partition),
                        offset: Some(e.offset),
                        note: Some(format!("after seq {seq} at offset {offset}")),
                        ..samples::message(e.producer, e.seq)
                    });
                }
                Some((seq, _)) if e.seq == seq => {}
                _ => *slot = Some((e.seq, e.offset)),
            }
        }
    }
    result
}
