//! `kafka-chaos analyze DIR`, no cluster needed.
//!
//! - A cell directory (it holds history.jsonl): check the history again, write analysis.json and
//!   timeline.csv, print the counts and the evidence.
//! - A result directory of `run` (it holds plan.json): check every cell's history again, judge
//!   it again by the plan's rules, rewrite summary.json and every report, and exit as `run`
//!   would. A stored run can thus be judged again, by a newer checker or after a fix.

use crate::checker::{Analysis, ANALYSIS_FILE, HISTORY_FILE, TIMELINE_FILE};
use crate::cli::AnalyzeArgs;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::report::thousands;
use crate::store::{self, PLAN_FILE};
use crate::summary::Summary;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

pub use crate::checker::{analyze_file, read_analysis, write_analysis};

/// Lost messages listed in the summary.
const LOST_SHOWN: usize = 5;

pub fn run(args: AnalyzeArgs) -> Result<i32> {
    if !args.dir.is_dir() {
        return Err(Error::Invalid(format!(
            "no directory {}: give a result directory written by `kafka-chaos run`, or one of its cells/<id>",
            args.dir.display()
        )));
    }
    if store::is_result_dir(&args.dir) {
        return result_dir(&args.dir);
    }
    let started = Instant::now();
    let history = args.dir.join(HISTORY_FILE);
    let analysis = analyze_file(&history)?;
    write_analysis(&args.dir, &analysis)?;
    print!("{}", summary(&history, &analysis, started.elapsed()));
    println!("wrote {} and {}", args.dir.join(ANALYSIS_FILE).display(), args.dir.join(TIMELINE_FILE).display());
    Ok(0)
}

/// Judge a whole result directory again from its histories.
fn result_dir(dir: &Path) -> Result<i32> {
    let hint = format!("is {} a result directory of `kafka-chaos run`?", dir.display());
    let plan: Plan = store::read_json(&dir.join(PLAN_FILE), "a plan", &hint)?;
    // What the run recorded of itself; without a summary (a run killed before its first cell)
    // the cells are judged from their histories alone.
    let before = Summary::load(dir).ok();
    let mut cells = Vec::new();
    let mut missing = Vec::new();
    for cell in &plan.cells {
        let cell_dir = store::cell_dir(dir, &cell.id);
        let earlier = before.as_ref().and_then(|s| s.cells.iter().find(|c| c.id == cell.id));
        let duration_s = earlier.map_or(0.0, |c| c.duration_s);
        if !cell_dir.join(HISTORY_FILE).is_file() {
            match earlier {
                // The run recorded why it has no history (it could not be run).
                Some(earlier) => cells.push(earlier.clone()),
                None => missing.push(cell.id.clone()),
            }
            continue;
        }
        let judged = match analyze_file(&cell_dir.join(HISTORY_FILE)) {
            Ok(analysis) => {
                write_analysis(&cell_dir, &analysis)?;
                // The run's own notes (an error that ended it) are in the history as an abort.
                crate::judge::cell_summary(cell, &analysis, Vec::new(), duration_s)
            }
            Err(e @ (Error::Invalid(_) | Error::InvalidLine { .. })) => {
                crate::judge::unrun_cell(cell, format!("its history cannot be read: {e}"), duration_s)
            }
            Err(e) => return Err(e),
        };
        cells.push(judged);
    }
    let summary = Summary {
        scenario: plan.scenario.clone(),
        description: plan.description.clone(),
        seed: plan.seed,
        started: before.as_ref().map(|s| s.started.clone()).unwrap_or_default(),
        wall_time_s: before.as_ref().map_or(0.0, |s| s.wall_time_s),
        complete: missing.is_empty() && before.as_ref().is_some_and(|s| s.complete),
        image: before.as_ref().map(|s| s.image.clone()).unwrap_or_default(),
        cells,
    };
    summary.save(dir)?;
    let rendered = crate::report::render_all(dir, &summary)?;
    print!("{}", crate::report::terminal_table(&summary));
    if !missing.is_empty() {
        println!("never run ({}): {}", missing.len(), missing.join(", "));
    }
    for problem in &rendered.problems {
        eprintln!("warning: {problem}");
    }
    println!("judged {} cell(s) again; wrote summary.json and the reports in {}", summary.cells.len(), dir.display());
    Ok(super::run::exit_code(&summary, Ok(())))
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
    let rows: Vec<(String, u64, &str)> = c.iter().map(|(count, n)| (count.label(), n, count.meaning())).collect();
    let width = rows.iter().map(|r| thousands(r.1).len()).max().unwrap_or(1);
    for (label, value, meaning) in &rows {
        let line = format!("  {label:<16}{:>width$}   {meaning}", thousands(*value));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "\ndefinite outcomes: {:.1}% ({} acked + {} failed of {} sent)",
        c.definite_share() * 100.0,
        thousands(c.acked),
        thousands(c.failed),
        thousands(c.sent)
    );
    let problems = a.evidence.problems();
    if problems.is_empty() {
        let _ = writeln!(out, "evidence: every step applied and healed, the log read to its end, every ledger whole");
    }
    for problem in problems.iter().chain(a.evidence.consumer_problem().iter()) {
        let _ = writeln!(out, "evidence missing: {problem}");
    }
    for deviation in &a.evidence.deviations {
        let _ = writeln!(out, "not as planned: {deviation}");
    }
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
