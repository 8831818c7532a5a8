//! Per-message state, 17 bytes per message: one byte of flags (send outcome, log records and
//! processed events counted to 2, marks), plus when the send was answered and the record it was
//! acked at (for lost messages, which are only known once every log record has been read).
//!
//! Seqs are dense per producer in practice, so each producer's messages live in pages of 4096
//! consecutive seqs, allocated when first touched and never moved: no vector doubling (which
//! copies, and leaves the allocator's heap fragmented), and a chunk of the file that starts at
//! seq 7,000,000 costs nothing below it. A page's send times and records are allocated only
//! once a send lands in it: the chunk holding the final log touches flags only. Merging the
//! tables of two chunks moves whole pages. Seqs beyond `DENSE_SEQS` go to a tree.

use super::keyed::KeyedMap;
use crate::history::SendOutcome;
use std::collections::BTreeMap;

const PAGE_BITS: u32 = 12;
const PAGE_LEN: usize = 1 << PAGE_BITS;
/// The page directory stays under 6 MB per producer.
const DENSE_SEQS: u64 = 1 << 30;

const OUTCOME_MASK: u8 = 0b11;
const ACKED: u8 = 1;
const FAILED: u8 = 2;
const UNKNOWN: u8 = 3;
const LOG_SHIFT: u8 = 2;
const PROCESSED_SHIFT: u8 = 4;
const SAMPLED: u8 = 1 << 6;
/// The send carried both a partition and an offset.
const SEND_RECORD: u8 = 1 << 7;

/// One message's state, as read back from the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Message {
    flags: u8,
    sent_tenths_ms: u32,
    partition: i32,
    offset: i64,
}

impl Message {
    pub fn exists(&self) -> bool {
        self.flags & !SAMPLED != 0
    }

    /// None: never sent.
    pub fn outcome(&self) -> Option<SendOutcome> {
        match self.flags & OUTCOME_MASK {
            ACKED => Some(SendOutcome::Acked),
            FAILED => Some(SendOutcome::Failed),
            UNKNOWN => Some(SendOutcome::Unknown),
            _ => None,
        }
    }

    /// Log records of the message: 0, 1, or 2 for two or more.
    pub fn log_records(&self) -> u8 {
        (self.flags >> LOG_SHIFT) & 0b11
    }

    /// Processed events of the message: 0, 1, or 2 for two or more.
    pub fn processed(&self) -> u8 {
        (self.flags >> PROCESSED_SHIFT) & 0b11
    }

    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// When the producer got the outcome.
    pub fn sent_ms(&self) -> Option<f64> {
        self.outcome().map(|_| self.sent_tenths_ms as f64 / 10.0)
    }

    /// The record the send was acked (or failed) at, if it said.
    pub fn send_record(&self) -> Option<(i32, i64)> {
        (self.flags & SEND_RECORD != 0).then_some((self.partition, self.offset))
    }

    fn sent(&self) -> bool {
        self.flags & OUTCOME_MASK != 0
    }

    /// The same message seen by two chunks: `self`'s send (if any, else `other`'s), log records
    /// and processed events added (to 2).
    fn merged(self, other: Message) -> Message {
        let (kept, rest) = if self.sent() || !other.sent() { (self, other) } else { (other, self) };
        Message { flags: merge_flags(kept.flags, rest.flags), ..kept }
    }
}

/// `kept`'s send outcome and record flag, counts added (to 2), marks joined.
#[inline]
fn merge_flags(kept: u8, other: u8) -> u8 {
    let count = |shift: u8| (((kept >> shift) & 0b11) + ((other >> shift) & 0b11)).min(2) << shift;
    (kept & (OUTCOME_MASK | SEND_RECORD)) | ((kept | other) & SAMPLED) | count(LOG_SHIFT) | count(PROCESSED_SHIFT)
}

/// Adds one to a two-bit counter that stops at 2.
#[inline]
fn bump(flags: u8, shift: u8) -> u8 {
    if (flags >> shift) & 0b11 >= 2 {
        flags
    } else {
        flags + (1 << shift)
    }
}

#[derive(Debug)]
struct Page {
    flags: Box<[u8]>,
    sends: Option<Box<Sends>>,
}

#[derive(Debug)]
struct Sends {
    sent_tenths_ms: Box<[u32]>,
    partition: Box<[i32]>,
    offset: Box<[i64]>,
}

impl Page {
    fn new() -> Page {
        Page { flags: vec![0; PAGE_LEN].into_boxed_slice(), sends: None }
    }

    #[inline]
    fn load(&self, i: usize) -> Message {
        let flags = self.flags[i];
        match &self.sends {
            Some(s) => {
                Message { flags, sent_tenths_ms: s.sent_tenths_ms[i], partition: s.partition[i], offset: s.offset[i] }
            }
            None => Message { flags, ..Message::default() },
        }
    }

    #[inline]
    fn store(&mut self, i: usize, m: Message) {
        self.flags[i] = m.flags;
        if m.sent() {
            let s = self.sends.get_or_insert_with(|| {
                Box::new(Sends {
                    sent_tenths_ms: vec![0; PAGE_LEN].into_boxed_slice(),
                    partition: vec![0; PAGE_LEN].into_boxed_slice(),
                    offset: vec![0; PAGE_LEN].into_boxed_slice(),
                })
            });
            s.sent_tenths_ms[i] = m.sent_tenths_ms;
            s.partition[i] = m.partition;
            s.offset[i] = m.offset;
        }
    }

    /// Adds a later chunk's page for the same seqs; calls `sent_twice` with each index both sent.
    fn merge(&mut self, later: Page, mut sent_twice: impl FnMut(usize)) {
        for (i, &theirs) in later.flags.iter().enumerate() {
            if theirs == 0 {
                continue;
            }
            let ours = self.flags[i];
            if theirs & OUTCOME_MASK == 0 {
                // Log records or processed events only: the usual case for the later chunk.
                self.flags[i] = merge_flags(ours, theirs);
            } else {
                if ours & OUTCOME_MASK != 0 {
                    sent_twice(i);
                }
                let m = self.load(i).merged(later.load(i));
                self.store(i, m);
            }
        }
    }
}

#[derive(Debug, Default)]
struct ProducerMessages {
    /// Page `n` holds seqs `n * PAGE_LEN ..`.
    pages: Vec<Option<Page>>,
    /// Seqs from `DENSE_SEQS` on.
    sparse: BTreeMap<u64, Message>,
}

impl ProducerMessages {
    /// The page of a dense seq (made if new) and the seq's index in it.
    #[inline]
    fn page_mut(&mut self, seq: u64) -> Option<(&mut Page, usize)> {
        if seq >= DENSE_SEQS {
            return None;
        }
        let n = (seq >> PAGE_BITS) as usize;
        if n >= self.pages.len() {
            self.pages.resize_with(n + 1, || None);
        }
        Some((self.pages[n].get_or_insert_with(Page::new), seq as usize & (PAGE_LEN - 1)))
    }

    #[inline]
    fn update_flags(&mut self, seq: u64, change: impl FnOnce(u8) -> u8) {
        match self.page_mut(seq) {
            Some((page, i)) => page.flags[i] = change(page.flags[i]),
            None => {
                let m = self.sparse.entry(seq).or_default();
                m.flags = change(m.flags);
            }
        }
    }

    fn get(&self, seq: u64) -> Option<Message> {
        if seq >= DENSE_SEQS {
            return self.sparse.get(&seq).copied();
        }
        let page = self.pages.get((seq >> PAGE_BITS) as usize)?.as_ref()?;
        Some(page.load(seq as usize & (PAGE_LEN - 1)))
    }

    fn merge(&mut self, later: ProducerMessages, mut sent_twice: impl FnMut(u64)) {
        if later.pages.len() > self.pages.len() {
            self.pages.resize_with(later.pages.len(), || None);
        }
        for (n, theirs) in later.pages.into_iter().enumerate() {
            let Some(theirs) = theirs else { continue };
            match &mut self.pages[n] {
                slot @ None => *slot = Some(theirs),
                Some(ours) => ours.merge(theirs, |i| sent_twice(((n as u64) << PAGE_BITS) + i as u64)),
            }
        }
        for (seq, theirs) in later.sparse {
            let ours = self.sparse.entry(seq).or_default();
            if ours.sent() && theirs.sent() {
                sent_twice(seq);
            }
            *ours = ours.merged(theirs);
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct MessageTable {
    producers: KeyedMap<ProducerMessages>,
}

impl MessageTable {
    /// Records a message's one send outcome; false if the message already had one.
    #[inline]
    pub fn record_send(
        &mut self,
        producer: u32,
        seq: u64,
        outcome: SendOutcome,
        time_ms: f64,
        record: Option<(i32, i64)>,
    ) -> bool {
        let bits = match outcome {
            SendOutcome::Acked => ACKED,
            SendOutcome::Failed => FAILED,
            SendOutcome::Unknown => UNKNOWN,
        };
        let messages = self.producers.entry(producer as i64);
        let old = messages.get(seq).unwrap_or_default();
        if old.sent() {
            return false;
        }
        let (partition, offset) = record.unwrap_or_default();
        let m = Message {
            flags: old.flags | bits | if record.is_some() { SEND_RECORD } else { 0 },
            sent_tenths_ms: (time_ms * 10.0).round().clamp(0.0, u32::MAX as f64) as u32,
            partition,
            offset,
        };
        match messages.page_mut(seq) {
            Some((page, i)) => page.store(i, m),
            None => {
                messages.sparse.insert(seq, m);
            }
        }
        true
    }

    #[inline]
    pub fn record_log(&mut self, producer: u32, seq: u64) {
        self.producers.entry(producer as i64).update_flags(seq, |f| bump(f, LOG_SHIFT));
    }

    #[inline]
    pub fn record_processed(&mut self, producer: u32, seq: u64) {
        self.producers.entry(producer as i64).update_flags(seq, |f| bump(f, PROCESSED_SHIFT));
    }

    pub fn mark_sampled(&mut self, producer: u32, seq: u64) {
        self.producers.entry(producer as i64).update_flags(seq, |f| f | SAMPLED);
    }

    /// Adds the table of a later chunk; returns the messages both sent.
    pub fn merge(&mut self, later: MessageTable) -> Vec<(u32, u64)> {
        let mut sent_twice = Vec::new();
        for (producer, theirs) in later.producers.into_entries() {
            self.producers.entry(producer).merge(theirs, |seq| sent_twice.push((producer as u32, seq)));
        }
        sent_twice
    }

    #[inline]
    pub fn get(&self, producer: u32, seq: u64) -> Option<Message> {
        self.producers.get(producer as i64)?.get(seq).filter(Message::exists)
    }

    pub fn producers(&self) -> usize {
        self.producers.len()
    }

    /// Every message, in (producer, seq) order.
    pub fn for_each(&self, mut visit: impl FnMut(u32, u64, &Message)) {
        for (producer, messages) in self.producers.iter() {
            let producer = producer as u32;
            for (n, page) in messages.pages.iter().enumerate() {
                let Some(page) = page else { continue };
                let first = (n as u64) << PAGE_BITS;
                for (i, &flags) in page.flags.iter().enumerate() {
                    if flags != 0 {
                        visit(producer, first + i as u64, &page.load(i));
                    }
                }
            }
            for (&seq, m) in &messages.sparse {
                if m.exists() {
                    visit(producer, seq, m);
                }
            }
        }
    }
}
