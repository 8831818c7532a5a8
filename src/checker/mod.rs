//! The checker: from a history (what producers were told, what consumers processed, what the
//! log finally holds) to an `Analysis` of counts, samples and per-second series.
//!
//! Reading folds each chunk of the file into compact state on its own thread (`tally`), then
//! merges the tallies. Concluding walks the messages once, each anomaly family looking at each
//! message, then walks the sorted log records of each partition for the anomalies of records.

mod analysis;
mod consumption;
mod delivery;
mod duplicates;
pub mod evidence;
mod faults;
mod keyed;
mod availability;
mod latency;
mod lost;
mod messages;
mod ordering;
mod samples;
mod store;
mod tally;
#[cfg(test)]
mod tests;
mod timeline;
mod transactions;

pub use analysis::*;
pub use transactions::{TxnSample, TxnSummary};
pub use evidence::Evidence;
pub use store::{read_analysis, write_analysis, write_timeline_csv};
pub use crate::store::{ANALYSIS_FILE, HISTORY_FILE, TIMELINE_FILE};

use crate::error::{Error, Result};
use crate::history_reader::{HistoryReader, ReadStats};
use std::path::Path;
use tally::Tally;

/// Analyses a history file (`DIR/history.jsonl`).
pub fn analyze_file(path: &Path) -> Result<Analysis> {
    analyze(&HistoryReader::open(path)?)
}

/// Analyses a history held in memory; `name` stands for the file in error messages.
pub fn analyze_bytes(name: &Path, history: &[u8]) -> Result<Analysis> {
    analyze(&HistoryReader::from_bytes(name, history))
}

pub fn analyze(reader: &HistoryReader) -> Result<Analysis> {
    let (tallies, read) = reader.read(Tally::default, Tally::observe);
    let tally = tallies.into_iter().reduce(Tally::merge).unwrap_or_default();
    if read.is_err() || !tally.sent_twice.is_empty() {
        return Err(first_error(reader, read, &tally)?);
    }
    Ok(conclude(tally, read?))
}

/// The error of the earliest bad line: a malformed line, or a second send of a message.
fn first_error(reader: &HistoryReader, read: Result<ReadStats>, tally: &Tally) -> Result<Error> {
    let malformed = match read {
        Ok(_) => None,
        Err(e @ Error::InvalidLine { .. }) => Some(e),
        Err(other) => return Ok(other),
    };
    let second = if tally.sent_twice.is_empty() { None } else { reader.find_second_send(&tally.sent_twice)? };
    Ok(match (malformed, second) {
        (Some(e @ Error::InvalidLine { line, .. }), Some(s)) if line < s.line => e,
        (_, Some(s)) => reader.line_error(
            s.line,
            format!("second send event for producer {} seq {} (first on line {})", s.producer, s.seq, s.first_line),
        ),
        (Some(e), None) => e,
        (None, None) => Error::Invalid(format!(
            "{}: a message was sent twice but could not be found again",
            reader.path().display()
        )),
    })
}

fn conclude(tally: Tally, stats: ReadStats) -> Analysis {
    let Tally {
        mut messages,
        log,
        processed,
        timeline,
        context,
        mut latencies_ms,
        acks,
        send_events,
        log_records,
        processed_events,
        sent_twice: _,
    } = tally;
    let fault_events = context
        .iter()
        .filter_map(|(e, position)| match e {
            crate::history::Event::Fault(f) => Some((f.clone(), *position)),
            _ => None,
        })
        .collect();
    let faults = faults::windows(fault_events);
    let txns: Vec<crate::history::TxnEvent> = context
        .iter()
        .filter_map(|(e, _)| match e {
            crate::history::Event::Txn(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let (txn_summary, txn_samples) = transactions::check(&txns, &messages);

    let mut delivery = delivery::Delivery::default();
    let mut lost = lost::Lost::new(&faults);
    let mut duplicates = duplicates::Duplicates::default();
    let mut consumption = consumption::Consumption::default();
    let mut ledger = evidence::LedgerCounter::default();
    messages.for_each(|producer, seq, m| {
        ledger.observe(producer, seq, m.outcome().is_some());
        delivery.observe(producer, seq, m);
        lost.observe(producer, seq, m);
        duplicates.observe(producer, seq, m);
        consumption.observe(producer, seq, m);
    });
    let (lost_count, lost_detail, lost_samples) = lost.finish();

    let log = log.into_sorted(|e| e.offset);
    let ordering = ordering::check(&log);
    let (redelivered, redelivered_samples) = consumption::redelivered(&processed.into_sorted(|e| e.offset), &log);

    let counts = Counts {
        sent: send_events,
        acked: delivery.acked,
        failed: delivery.failed,
        unknown: delivery.unknown,
        in_log: delivery.in_log,
        lost: lost_count,
        duplicated: duplicates.duplicated,
        reordered: ordering.reordered,
        unexpected: delivery.unexpected,
        recovered: delivery.recovered,
        unconsumed: consumption.unconsumed,
        redelivered,
        processed_twice: consumption.processed_twice,
        aborted_read: txn_summary.aborted_read,
        torn: txn_summary.torn,
    };
    let mut samples = Samples {
        lost: lost_samples,
        duplicated: duplicates.samples,
        reordered: ordering.samples,
        unexpected: delivery.unexpected_samples,
        recovered: delivery.recovered_samples,
        unconsumed: consumption.unconsumed_samples,
        redelivered: redelivered_samples,
        processed_twice: consumption.processed_twice_samples,
    };
    samples::annotate(&mut samples, &mut messages, &log);

    let mut warnings = Vec::new();
    if ordering.repeated_records > 0 {
        warnings.push(format!(
            "{} log records repeat a (partition, offset) already in the log: the final reader read them twice, so duplicated counts them twice",
            ordering.repeated_records
        ));
    }
    if timeline.beyond > 0 {
        warnings
            .push(format!("{} events more than ten days into the run are left out of the timeline", timeline.beyond));
    }
    // Tenths of a millisecond, as histories stamp them: sorted exactly.
    let acks: Vec<(i32, Vec<f32>)> = acks.into_sorted(|t| (*t as f64 * 10.0).round() as i64);
    let span = evidence::AckSpan {
        acked: counts.acked,
        first_ms: acks.iter().filter_map(|(_, times)| times.first()).map(|&t| t as f64).reduce(f64::min),
        last_ms: acks.iter().filter_map(|(_, times)| times.last()).map(|&t| t as f64).reduce(f64::max),
    };
    let evidence = evidence::gather(context, ledger.finish(), span);
    let availability = availability::measure(&acks, &faults);
    Analysis {
        format: ANALYSIS_FORMAT,
        counts,
        evidence,
        input: InputStats {
            lines: stats.lines,
            bytes: stats.bytes,
            other_lines: stats.other_lines,
            log_records,
            processed_events,
            producers: messages.producers() as u64,
            partitions: log.len() as u64,
        },
        latency_ms: latency::percentiles(&mut latencies_ms),
        timeline: timeline.finish(&lost_detail.per_second),
        faults,
        lost: lost_detail,
        samples,
        warnings,
        availability,
        transactions: (!txns.is_empty()).then_some(Transactions { summary: txn_summary, samples: txn_samples }),
    }
}
