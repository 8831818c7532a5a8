//! The anomalies of transactions (Jepsen's Kafka checker names them): from each producer's
//! `txn` events and the messages' state, what a read_committed application could have seen that
//! it must not, and what the log holds of each transaction.
//!
//! - **aborted read**: a message of an aborted transaction in the final log or processed by a
//!   consumer (each message counted once);
//! - **torn**: a transaction committed, or of unknown outcome, that the final log holds in part;
//! - **lost committed write**: a message of a committed transaction (acked) not in the log: the
//!   `lost` count, since a committed transaction's messages are the acked ones;
//! - an unknown transaction is **resolved** by the log: all of it there (it committed), none (it
//!   aborted), or some (torn).
//!
//! Duplicates and order inside a transaction are the `duplicated` and `reordered` counts.

use super::messages::MessageTable;
use crate::history::{TxnEvent, TxnOutcome};
use serde::{Deserialize, Serialize};

/// How the producers' transactions ended and what the log holds of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnSummary {
    pub committed: u64,
    pub aborted: u64,
    pub unknown: u64,
    /// Unknown transactions the final log holds whole: they committed.
    pub unknown_whole: u64,
    /// Unknown transactions of which the final log holds nothing: they aborted (or never
    /// reached a broker).
    pub unknown_none: u64,
    /// Committed or unknown transactions the final log holds in part.
    pub torn: u64,
    /// Messages of aborted transactions that were read all the same.
    pub aborted_read: u64,
}

/// One sample of a transaction anomaly, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnSample {
    pub producer: u32,
    pub first_seq: u64,
    pub last_seq: u64,
    pub outcome: TxnOutcome,
    /// Its messages in the final log, and processed by consumers.
    pub in_log: u64,
    pub processed: u64,
    pub time_ms: f64,
}

const SAMPLES_KEPT: usize = 20;

/// Every transaction of the history against the messages' state.
pub(crate) fn check(txns: &[TxnEvent], messages: &MessageTable) -> (TxnSummary, Vec<TxnSample>) {
    let mut summary = TxnSummary::default();
    let mut samples = Vec::new();
    for t in txns {
        let (mut in_log, mut processed, mut aborted_read) = (0, 0, 0);
        for seq in t.first_seq..=t.last_seq {
            let Some(m) = messages.get(t.producer, seq) else { continue };
            let logged = m.log_records() > 0;
            let consumed = m.processed() > 0;
            in_log += u64::from(logged);
            processed += u64::from(consumed);
            aborted_read += u64::from(logged || consumed);
        }
        let whole = in_log == t.messages();
        let anomalous = match t.outcome {
            TxnOutcome::Committed => {
                summary.committed += 1;
                let torn = in_log > 0 && !whole;
                summary.torn += u64::from(torn);
                torn
            }
            TxnOutcome::Aborted => {
                summary.aborted += 1;
                summary.aborted_read += aborted_read;
                aborted_read > 0
            }
            TxnOutcome::Unknown => {
                summary.unknown += 1;
                summary.unknown_whole += u64::from(whole);
                summary.unknown_none += u64::from(in_log == 0);
                let torn = in_log > 0 && !whole;
                summary.torn += u64::from(torn);
                torn
            }
        };
        if anomalous && samples.len() < SAMPLES_KEPT {
            samples.push(TxnSample {
                producer: t.producer,
                first_seq: t.first_seq,
                last_seq: t.last_seq,
                outcome: t.outcome,
                in_log,
                processed,
                time_ms: t.time_ms,
            });
        }
    }
    (summary, samples)
}
