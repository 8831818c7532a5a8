//! A transactional producer's open transaction, as its lines tell it: the reports of its
//! messages are held until the transaction ends, and then each message gets the transaction's
//! outcome (`transaction::message_outcome`). Kept by the `ProducerTracker`, across processes.

use super::super::producer::Report;
use super::super::transaction::{message_outcome, TxnEnd};
use crate::history::{TxnEvent, TxnOutcome};
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug)]
pub(super) struct OpenTxn {
    pub first_seq: u64,
    pub began: Instant,
    /// Per-message reports of its messages so far: partitions, offsets, errors.
    pub reports: BTreeMap<u64, Report>,
}

/// The end of a transaction: its messages' reports with the transaction's outcome, and its event.
pub(super) struct Ended {
    pub reports: Vec<Report>,
    pub event: TxnEvent,
}

/// Ends `open` as `end` says. `in_flight` holds the seqs said sending without a report (with the
/// partition they were sent to and when); those of this transaction are taken out of it.
pub(super) fn end(
    producer: u32,
    mut open: OpenTxn,
    end: TxnEnd,
    in_flight: &mut BTreeMap<u64, (Option<i32>, Instant)>,
    now: Instant,
) -> Ended {
    let TxnEnd { first_seq, last_seq, outcome, error, why } = end;
    let mut reports = Vec::new();
    let first = first_seq.min(open.first_seq);
    let unanswered: Vec<u64> = in_flight.range(first..=last_seq).map(|(seq, _)| *seq).collect();
    for seq in unanswered {
        let (partition, sent_at) = in_flight.remove(&seq).expect("listed just now");
        let held = open.reports.remove(&seq);
        reports.push(derive(seq, held, partition, Some(sent_at), outcome, &why, now));
    }
    // Reports of seqs no longer in flight (they came in while the transaction was open).
    for (seq, held) in std::mem::take(&mut open.reports) {
        if seq <= last_seq {
            let partition = held.partition;
            reports.push(derive(seq, Some(held), partition, None, outcome, &why, now));
        }
    }
    reports.sort_by_key(|r| r.seq);
    let event = TxnEvent {
        time_ms: 0.0,
        producer,
        first_seq: first,
        last_seq,
        outcome,
        open_ms: Some(ms(now.saturating_duration_since(open.began))),
        error,
        why,
    };
    Ended { reports, event }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// One message's report once its transaction ended: the transaction decides the outcome, the
/// message's own report keeps its partition, offset and status. The latency of a committed
/// message is from its send to the commit's return: that is when the application knows.
fn derive(
    seq: u64,
    held: Option<Report>,
    partition: Option<i32>,
    sent_at: Option<Instant>,
    txn: TxnOutcome,
    why: &Option<String>,
    ended: Instant,
) -> Report {
    let outcome = message_outcome(txn);
    let (offset, status, message_error, message_latency) = match &held {
        Some(h) => (h.offset, h.status, h.error.clone(), h.latency_ms),
        None => (None, None, None, None),
    };
    let latency_ms = match (txn, sent_at) {
        (TxnOutcome::Committed, Some(at)) => Some(ms(ended.saturating_duration_since(at))),
        (TxnOutcome::Committed, None) => message_latency,
        _ => None,
    };
    let txn_error = match txn {
        TxnOutcome::Committed => None,
        TxnOutcome::Aborted => Some(format!("its transaction was aborted ({})", why.as_deref().unwrap_or("no reason given"))),
        TxnOutcome::Unknown => Some(format!("its transaction's outcome is unknown ({})", why.as_deref().unwrap_or("no reason given"))),
    };
    let error = match (message_error, txn_error) {
        (Some(m), Some(t)) => Some(format!("{m}; {t}")),
        (m, t) => m.or(t),
    };
    Report { seq, outcome, partition: partition.or(held.and_then(|h| h.partition)), offset, status, latency_ms, error, why: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::SendOutcome;

    fn acked(seq: u64, offset: i64) -> Report {
        Report {
            seq,
            outcome: SendOutcome::Acked,
            partition: Some(0),
            offset: Some(offset),
            status: None,
            latency_ms: Some(1.0),
            error: None,
            why: None,
        }
    }

    fn txn_end(outcome: TxnOutcome, last_seq: u64) -> TxnEnd {
        TxnEnd { first_seq: 10, last_seq, outcome, error: None, why: Some("x".into()) }
    }

    #[test]
    fn every_message_takes_the_transactions_outcome_and_keeps_its_record() {
        let now = Instant::now();
        for (txn, message) in [
            (TxnOutcome::Committed, SendOutcome::Acked),
            (TxnOutcome::Aborted, SendOutcome::Failed),
            (TxnOutcome::Unknown, SendOutcome::Unknown),
        ] {
            let open = OpenTxn { first_seq: 10, began: now, reports: BTreeMap::from([(10, acked(10, 5))]) };
            // seq 11 was sent and never reported; seq 12 belongs to the next transaction.
            let mut in_flight = BTreeMap::from([(11, (Some(1), now)), (12, (Some(2), now))]);
            let ended = end(3, open, txn_end(txn, 11), &mut in_flight, now);
            let got: Vec<(u64, SendOutcome, Option<i64>)> = ended.reports.iter().map(|r| (r.seq, r.outcome, r.offset)).collect();
            assert_eq!(got, [(10, message, Some(5)), (11, message, None)]);
            assert_eq!((ended.event.first_seq, ended.event.last_seq, ended.event.outcome), (10, 11, txn));
            assert_eq!(in_flight.keys().copied().collect::<Vec<_>>(), [12]);
            assert_eq!(ended.reports[0].error.is_some(), txn != TxnOutcome::Committed);
        }
    }
}
