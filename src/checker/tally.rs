//! Folds the records of one chunk of a history into compact state: per-message flags, the log
//! and processed records of each partition, per-second counts, fault events and latencies.
//! Each chunk is folded on its own thread; `merge` then joins the tallies in file order.

use super::keyed::KeyedMap;
use super::messages::MessageTable;
use super::timeline::{Series, TimelineCounter};
use crate::history::SendOutcome;
use crate::history::Event;
use crate::history_reader::{LinePosition, Record};
use std::collections::HashSet;

/// Enough messages sent twice to find the first one in the file again; a history with more
/// is broken anyway.
const SENT_TWICE_KEPT: usize = 10_000;

/// A record in the final log, within its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogEntry {
    pub offset: i64,
    pub seq: u64,
    pub producer: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub messages: MessageTable,
    pub log: PartitionRecords<LogEntry>,
    /// Every processed event's offset and message, per partition: a record processed twice
    /// shows up listed twice once sorted (16 bytes per event, no map).
    pub processed: PartitionRecords<LogEntry>,
    pub timeline: TimelineCounter,
    /// Every event of the kinds that carry evidence (cell, step, fault, read, drain, abort),
    /// with its place in the file.
    pub context: Vec<(Event, LinePosition)>,
    pub latencies_ms: Vec<f32>,
    /// When each acked send was acked, per partition (for availability).
    pub acks: PartitionRecords<f32>,
    pub send_events: u64,
    pub log_records: u64,
    pub processed_events: u64,
    /// Messages with a second send event (an error, reported with line numbers by the caller).
    pub sent_twice: HashSet<(u32, u64)>,
}

impl Tally {
    #[inline]
    pub fn observe(&mut self, record: Record) {
        match record {
            Record::Send(send) => {
                self.send_events += 1;
                let record = send.partition.zip(send.offset);
                if !self.messages.record_send(send.producer, send.seq, send.outcome, send.time_ms, record) {
                    self.note_sent_twice((send.producer, send.seq));
                    return;
                }
                let series = match send.outcome {
                    SendOutcome::Acked => {
                        if let Some(latency) = send.latency_ms {
                            self.latencies_ms.push(latency as f32);
                        }
                        if let Some(partition) = send.partition {
                            self.acks.push(partition, send.time_ms as f32);
                        }
                        Series::Acked
                    }
                    SendOutcome::Failed => Series::Failed,
                    SendOutcome::Unknown => Series::Unknown,
                };
                self.timeline.add(series, send.time_ms);
            }
            Record::Processed(p) => {
                self.processed_events += 1;
                self.messages.record_processed(p.producer, p.seq);
                self.processed.push(p.partition, LogEntry { offset: p.offset, seq: p.seq, producer: p.producer });
                self.timeline.add(Series::Processed, p.time_ms);
            }
            Record::Log(l) => {
                self.log_records += 1;
                self.messages.record_log(l.producer, l.seq);
                self.log.push(l.partition, LogEntry { offset: l.offset, seq: l.seq, producer: l.producer });
            }
            Record::Context(context) => self.context.push(*context),
        }
    }

    fn note_sent_twice(&mut self, message: (u32, u64)) {
        if self.sent_twice.len() < SENT_TWICE_KEPT {
            self.sent_twice.insert(message);
        }
    }

    /// Adds the tally of the chunk that follows this one in the file.
    pub fn merge(mut self, later: Tally) -> Tally {
        for message in self.messages.merge(later.messages) {
            self.note_sent_twice(message);
        }
        for message in later.sent_twice {
            self.note_sent_twice(message);
        }
        self.log.merge(later.log);
        self.processed.merge(later.processed);
        self.timeline.merge(later.timeline);
        self.context.extend(later.context);
        self.latencies_ms.extend(later.latencies_ms);
        self.acks.merge(later.acks);
        self.send_events += later.send_events;
        self.log_records += later.log_records;
        self.processed_events += later.processed_events;
        self
    }
}

/// Records per partition, in file order: the final reader writes a partition's log in offset
/// order, which then needs no sort.
#[derive(Debug)]
pub(crate) struct PartitionRecords<T> {
    partitions: KeyedMap<Vec<T>>,
}

impl<T> Default for PartitionRecords<T> {
    fn default() -> Self {
        PartitionRecords { partitions: KeyedMap::default() }
    }
}

impl<T> PartitionRecords<T> {
    #[inline]
    pub fn push(&mut self, partition: i32, item: T) {
        self.partitions.entry(partition as i64).push(item);
    }

    fn merge(&mut self, later: PartitionRecords<T>) {
        for (partition, mut items) in later.partitions.into_entries() {
            let all = self.partitions.entry(partition);
            if all.is_empty() {
                *all = items;
            } else {
                all.append(&mut items);
            }
        }
    }

    /// Each partition's records in partition order, sorted by `key`.
    pub fn into_sorted(self, key: impl Fn(&T) -> i64 + Copy) -> Vec<(i32, Vec<T>)> {
        self.partitions
            .into_entries()
            .into_iter()
            .map(|(partition, mut items)| {
                if !items.is_sorted_by_key(key) {
                    items.sort_unstable_by_key(key);
                }
                (partition as i32, items)
            })
            .collect()
    }
}
