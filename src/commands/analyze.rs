//! `kafka-chaos analyze DIR`: reads DIR/history.jsonl, writes DIR/analysis.json and
//! DIR/timeline.csv, prints a summary. No cluster needed.

use crate::checker::{Analysis, ANALYSIS_FILE, HISTORY_FILE, TIMELINE_FILE};
use crate::cli::AnalyzeArgs;
use crate::error::{Error, Result};
use crate::report::thousands;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

pub use crate::checker::{analyze_file, read_analysis, write_analysis};

/// Lost messages listed in the summary.
const LOST_SHOWN: usize = 5;

pub fn run(args: AnalyzeArgs) -> Result<i32> {
    let started = Instant::now();
    if !args.dir.is_dir() {
        return Err(Error::Invalid(format!(
            "no directory {}: give a result directory written by `kafka-chaos run`",
            args.dir.display()
        )));
    }
    let history = args.dir.join(HISTORY_FILE);
    let analysis = analyze_file(&history)?;
    write_analysis(&args.dir, &analysis)?;
    print!("{}", summary(&history, &analysis, started.elapsed()));
    println!("wrote {} and {}", args.dir.join(ANALYSIS_FILE).display(), args.dir.join(TIMELINE_FILE).display());
    Ok(0)
}

/// The human summary: input, counts in a table, consistency, latency, the first lost messages
/// with the fault window they were acked in.
pub fn summary(history: &Path, a: &Analysis, took: Duration) -> String {
    let mut out = String::new();
    let c = &a.counts;
    let _ = writeln!(
        out,
        "{}: {} lines ({}) analysed in {:.2} s\n",
        history.display(),
        thousands(a.input.lines),
        size(a.input.bytes),
        took.as_secs_f64()
    );
    let rows: [(&str, u64, &str); 13] = [
        ("sent", c.sent, "messages with a send event"),
        ("acked", c.acked, ""),
        ("failed", c.failed, ""),
        ("unknown", c.unknown, "no definite outcome"),
        ("in log", c.in_log, "messages with a record in the final log"),
        ("lost", c.lost, "acked, not in the log"),
        ("duplicated", c.duplicated, "two or more records in the log"),
        ("reordered", c.reordered, "records after a higher seq of their producer"),
        ("unexpected", c.unexpected, "in the log, but failed or never sent"),
        ("recovered", c.recovered, "outcome unknown, in the log"),
        ("unconsumed", c.unconsumed, "in the log, never processed"),
        ("redelivered", c.redelivered, "records processed more than once"),
        ("processed twice", c.processed_twice, "messages processed more than once"),
    ];
    let width = rows.iter().map(|r| thousands(r.1).len()).max().unwrap_or(1);
    for (label, value, meaning) in rows {
        let line = format!("  {label:<16}{:>width$}   {meaning}", thousands(value));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let sum = c.acked + c.failed + c.unknown;
    let _ = writeln!(
        out,
        "\n{}: acked + failed + unknown = {} + {} + {} = {}, sent = {}",
        if a.consistent { "consistent" } else { "INCONSISTENT" },
        thousands(c.acked),
        thousands(c.failed),
        thousands(c.unknown),
        thousands(sum),
        thousands(c.sent)
    );
    if let Some(l) = &a.latency_ms {
        let _ = writeln!(
            out,
            "ack latency: p50 {} ms, p90 {} ms, p99 {} ms, p99.9 {} ms, max {} ms ({} acks)",
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            thousands(l.count)
        );
    }
    if !a.faults.is_empty() {
        let listed: Vec<String> = a
            .faults
            .iter()
            .map(|f| {
                let at = |t: Option<f64>| t.map_or("?".to_string(), |ms| format!("{:.1} s", ms / 1000.0));
                format!("{} {} {} to {}", f.action, f.target, at(f.start_ms), at(f.end_ms))
            })
            .collect();
        let _ = writeln!(out, "faults: {}", listed.join("; "));
    }
    if c.lost > 0 {
        let _ = writeln!(out, "\nlost by fault window:");
        for w in &a.lost.by_fault {
            let _ = writeln!(out, "  {:>width$}  {}", thousands(w.count), w.context.reason);
        }
        let shown = a.samples.lost.len().min(LOST_SHOWN);
        let _ = writeln!(out, "first {shown} of {} lost messages:", thousands(c.lost));
        for s in a.samples.lost.iter().take(LOST_SHOWN) {
            let record = match (s.partition, s.offset) {
                (Some(p), Some(o)) => format!(" at partition {p} offset {o}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  producer {} seq {}: acked at {:.1} s{record}, {}",
                s.producer.unwrap_or_default(),
                s.seq.unwrap_or_default(),
                s.sent_ms.unwrap_or_default() / 1000.0,
                s.fault.as_ref().map_or("", |f| f.reason.as_str())
            );
        }
    }
    for w in &a.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}
