//! The table a run (and `analyze RESULT_DIR`) prints at the end: one line per cell, the key
//! counts, `?` for a count no verdict may rest on, the share of definite outcomes, and under a
//! cell the rules it violated and why it has no verdict.

use super::explain::verdict_word;
use super::palette::Outcome;
use crate::summary::{Summary, Verdict};
use std::fmt::Write as _;

pub fn terminal_table(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<8} {:<56} {:>8} {:>9}", "verdict", "cell", "sent", "definite");
    for o in Outcome::KEY_COUNTS {
        let _ = write!(out, " {:>8}", &o.name()[..o.name().len().min(8)]);
    }
    out.push('\n');
    for cell in &summary.cells {
        let (sent, definite) = match &cell.counts {
            Some(c) => (c.sent.to_string(), format!("{:.0}%", c.definite_share() * 100.0)),
            None => ("–".into(), "–".into()),
        };
        let _ = write!(out, "{:<8} {:<56} {sent:>8} {definite:>9}", verdict_word(cell.verdict), cell.id);
        for o in Outcome::KEY_COUNTS {
            let shown = match &cell.counts {
                Some(c) if o.judged_in(cell) => o.count(c).unwrap_or_default().to_string(),
                Some(_) => "?".into(),
                None => "–".into(),
            };
            let _ = write!(out, " {shown:>8}");
        }
        out.push('\n');
        for e in cell.expectations.iter().filter(|e| e.violated()) {
            let _ = writeln!(out, "         violated: {} (actual {})", e.rule, e.actual);
        }
        if cell.verdict == Verdict::Unknown {
            for note in cell.notes.iter().filter(|n| !n.starts_with("not as planned")).take(3) {
                let _ = writeln!(out, "         {note}");
            }
        }
    }
    if !summary.complete {
        let _ = writeln!(out, "the run did not complete: cells of the plan are missing");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn unjudged_counts_show_as_question_marks() {
        let mut summary = fixture::summary();
        summary.cells[0].unjudged = vec![crate::scenario::Count::Lost];
        let table = terminal_table(&summary);
        let lossy = table.lines().find(|l| l.contains(fixture::LOSSY)).unwrap();
        assert!(lossy.contains(" ? "), "{table}");
        assert!(lossy.contains("100%"), "{table}");
        let unrun = table.lines().find(|l| l.contains("acks-all_broker-stop")).unwrap();
        assert!(unrun.starts_with("unknown") && unrun.contains('–'), "{table}");
    }
}
