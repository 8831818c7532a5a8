//! The first few messages or records of each anomaly, and what the log says about them.

use super::analysis::{RecordRef, Sample, Samples};
use super::messages::MessageTable;
use super::tally::LogEntry;
use std::collections::HashMap;

/// Samples kept per anomaly.
pub(crate) const SAMPLES: usize = 10;
/// Log records listed per sampled message.
const RECORDS_PER_SAMPLE: usize = 10;

pub(crate) fn keep(samples: &mut Vec<Sample>, sample: impl FnOnce() -> Sample) {
    if samples.len() < SAMPLES {
        samples.push(sample());
    }
}

pub(crate) fn message(producer: u32, seq: u64) -> Sample {
    Sample { producer: Some(producer), seq: Some(seq), ..Sample::default() }
}

/// Fills in each sampled message's send outcome and time and, where the sample has no record
/// yet, its first record in the log; lists every log record of a message that has several.
pub(crate) fn annotate(samples: &mut Samples, messages: &mut MessageTable, log: &[(i32, Vec<LogEntry>)]) {
    let mut lists = [
        &mut samples.lost,
        &mut samples.duplicated,
        &mut samples.reordered,
        &mut samples.unexpected,
        &mut samples.recovered,
        &mut samples.unconsumed,
        &mut samples.redelivered,
        &mut samples.processed_twice,
    ];
    let mut wanted = 0;
    for sample in lists.iter().flat_map(|l| l.iter()) {
        if let (Some(producer), Some(seq)) = (sample.producer, sample.seq) {
            if messages.get(producer, seq).is_some_and(|m| m.log_records() > 0) {
                messages.mark_sampled(producer, seq);
                wanted += 1;
            }
        }
    }
    // One pass over the log for all of them; a flag lookup per record, no hashing.
    let mut records: HashMap<(u32, u64), Vec<RecordRef>> = HashMap::new();
    if wanted > 0 {
        for (partition, entries) in log {
            for e in entries {
                if messages.get(e.producer, e.seq).is_some_and(|m| m.sampled()) {
                    let list = records.entry((e.producer, e.seq)).or_default();
                    if list.len() < RECORDS_PER_SAMPLE {
                        list.push(RecordRef { partition: *partition, offset: e.offset });
                    }
                }
            }
        }
    }
    for sample in lists.iter_mut().flat_map(|l| l.iter_mut()) {
        let (Some(producer), Some(seq)) = (sample.producer, sample.seq) else { continue };
        if let Some(m) = messages.get(producer, seq) {
            sample.outcome = m.outcome();
            sample.sent_ms = m.sent_ms();
            if let Some(found) = records.get(&(producer, seq)) {
                if sample.partition.is_none() {
                    sample.partition = Some(found[0].partition);
                    sample.offset = Some(found[0].offset);
                }
                if m.log_records() >= 2 {
                    sample.records = found.clone();
                }
            }
        }
    }
}
