//! `kafka-chaos compare BASE NEW`: which cells got worse between two result directories, for
//! nightly jobs. Cells are matched by id. Verdicts first: a cell whose verdict went from pass to
//! fail or unknown got worse. Then counts, but only counts judged in both runs: a cell got worse
//! when any of lost, duplicated, reordered, unexpected or unconsumed went up.
//!
//! Exit: 1 if any cell got worse; else 3 if NEW cannot be compared in full (it is incomplete, or
//! lacks cells of BASE: they are named); else 0.

use crate::cli::CompareArgs;
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::scenario::Count;
use crate::summary::{CellSummary, Summary, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;


pub fn run(args: CompareArgs) -> Result<i32> {
    let base = load(&args.base)?;
    let new = load(&args.new)?;
    let comparison = compare(&base, &new);
    println!("base: {}", describe(&args.base, &base));
    println!("new:  {}", describe(&args.new, &new));
    if base.scenario != new.scenario {
        println!("note: the scenarios differ ({} and {}); only cells with the same id are compared", base.scenario, new.scenario);
    }
    print!("\n{}", comparison.render());
    if !new.complete {
        println!("NEW is incomplete: its run did not finish");
    }
    Ok(if !comparison.worse.is_empty() {
        exit_codes::VIOLATED
    } else if !comparison.only_in_base.is_empty() || !new.complete {
        exit_codes::INFRASTRUCTURE
    } else {
        exit_codes::OK
    })
}

fn load(dir: &Path) -> Result<Summary> {
    // `is_dir` follows symlinks, so `reports/latest` works like the directory it points to.
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "no directory {}: compare takes two result directories written by `kafka-chaos run`, e.g. reports/latest",
            dir.display()
        )));
    }
    Summary::load(dir)
}

/// `reports/latest -> reports/nightly-20250102 (nightly, seed 7, 7 cells)`.
fn describe(dir: &Path, summary: &Summary) -> String {
    let target = match std::fs::read_link(dir) {
        Ok(target) => format!(" -> {}", target.display()),
        Err(_) => String::new(),
    };
    let partial = if summary.complete { "" } else { ", incomplete" };
    format!(
        "{}{target} ({}, seed {}, {} cells{partial})",
        dir.display(),
        summary.scenario,
        summary.seed,
        summary.cells.len()
    )
}

#[derive(Debug, Default, PartialEq)]
pub struct Comparison {
    pub worse: Vec<CellChange>,
    pub improved: Vec<CellChange>,
    /// Verdict changes that are neither (fail <-> unknown).
    pub changed: Vec<CellChange>,
    pub unchanged: usize,
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub struct CellChange {
    pub id: String,
    /// `lost 0 -> 412`, `verdict pass -> fail`.
    pub changes: Vec<String>,
}

pub fn compare(base: &Summary, new: &Summary) -> Comparison {
    let base_cells: BTreeMap<&str, &CellSummary> = base.cells.iter().map(|c| (c.id.as_str(), c)).collect();
    let new_ids: BTreeMap<&str, &CellSummary> = new.cells.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut comparison = Comparison {
        only_in_base: base.cells.iter().filter(|c| !new_ids.contains_key(c.id.as_str())).map(|c| c.id.clone()).collect(),
        ..Comparison::default()
    };
    // In the new run's order, which is the plan's.
    for cell in &new.cells {
        let Some(before) = base_cells.get(cell.id.as_str()) else {
            comparison.only_in_new.push(cell.id.clone());
            continue;
        };
        let mut changes = Vec::new();
        let (mut up, mut down) = (false, false);
        let verdict = (before.verdict, cell.verdict);
        if verdict.0 != verdict.1 {
            changes.push(format!("verdict {} -> {}", word(verdict.0), word(verdict.1)));
        }
        if let (Some(b), Some(n)) = (&before.counts, &cell.counts) {
            // A count not judged in either run is no evidence of a change.
            let watched = Count::ALL.into_iter().filter(|c| c.more_is_regression() && before.judged(*c) && cell.judged(*c));
            for name in watched {
                let (b, n) = (b.get(name), n.get(name));
                if b != n {
                    changes.push(format!("{name} {b} -> {n}"));
                    up |= n > b;
                    down |= n < b;
                }
            }
        }
        let worse = up || (verdict.0 == Verdict::Pass && verdict.1 != Verdict::Pass);
        let improved = down || (verdict.0 != Verdict::Pass && verdict.1 == Verdict::Pass);
        let change = CellChange { id: cell.id.clone(), changes };
        match (worse, improved, change.changes.is_empty()) {
            (true, _, _) => comparison.worse.push(change),
            (false, true, _) => comparison.improved.push(change),
            (false, false, true) => comparison.unchanged += 1,
            (false, false, false) => comparison.changed.push(change),
        }
    }
    comparison
}

fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unknown => "unknown",
    }
}

impl Comparison {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (title, cells) in [("worse", &self.worse), ("improved", &self.improved), ("changed", &self.changed)] {
            if cells.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{title} ({}):", cells.len());
            for cell in cells {
                let _ = writeln!(out, "  {}: {}", cell.id, cell.changes.join(", "));
            }
        }
        let _ = writeln!(out, "unchanged: {} cell(s)", self.unchanged);
        for (title, ids) in [("missing from new", &self.only_in_base), ("only in new", &self.only_in_new)] {
            if !ids.is_empty() {
                let _ = writeln!(out, "{title} ({}): {}", ids.len(), ids.join(", "));
            }
        }
        let _ = match self.worse.len() {
            0 => writeln!(out, "\nno cell got worse"),
            n => writeln!(out, "\n{n} cell(s) got worse"),
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Counts;

    fn cell(id: &str, lost: Option<u64>, verdict: Verdict) -> CellSummary {
        CellSummary {
            id: id.into(),
            config: BTreeMap::new(),
            counts: lost.map(|lost| Counts { sent: 100, acked: 100, in_log: 100 - lost, lost, ..Counts::default() }),
            expectations: vec![],
            verdict,
            unjudged: vec![],
            notes: vec![],
            duration_s: 1.0,
        }
    }

    fn summary(cells: Vec<CellSummary>) -> Summary {
        Summary {
            scenario: "nightly".into(),
            description: String::new(),
            seed: 7,
            started: String::new(),
            wall_time_s: 0.0,
            complete: true,
            image: String::new(),
            cells,
        }
    }

    #[test]
    fn more_lost_or_a_lost_pass_is_worse() {
        let base = summary(vec![
            cell("a", Some(0), Verdict::Pass),
            cell("b", Some(5), Verdict::Fail),
            cell("c", Some(0), Verdict::Pass),
            cell("d", Some(3), Verdict::Fail),
            cell("gone", Some(0), Verdict::Pass),
        ]);
        let new = summary(vec![
            cell("a", Some(412), Verdict::Fail),
            cell("b", Some(2), Verdict::Fail),
            cell("c", None, Verdict::Unknown),
            cell("d", Some(3), Verdict::Fail),
            cell("added", Some(0), Verdict::Pass),
        ]);
        let c = compare(&base, &new);
        assert_eq!(
            c.worse,
            [
                CellChange { id: "a".into(), changes: vec!["verdict pass -> fail".into(), "lost 0 -> 412".into()] },
                CellChange { id: "c".into(), changes: vec!["verdict pass -> unknown".into()] },
            ]
        );
        assert_eq!(c.improved, [CellChange { id: "b".into(), changes: vec!["lost 5 -> 2".into()] }]);
        assert_eq!(c.unchanged, 1);
        assert_eq!(c.only_in_base, ["gone"]);
        assert_eq!(c.only_in_new, ["added"]);
        let text = c.render();
        assert!(text.starts_with("worse (2):\n  a: verdict pass -> fail, lost 0 -> 412\n"), "{text}");
        assert!(text.contains("missing from new (1): gone\n"), "{text}");
        assert!(text.ends_with("\n2 cell(s) got worse\n"), "{text}");
    }

    #[test]
    fn counts_not_judged_in_either_run_are_not_compared() {
        let base = summary(vec![cell("a", Some(0), Verdict::Pass)]);
        let mut unjudged = cell("a", Some(7), Verdict::Unknown);
        unjudged.unjudged = Count::ALL.to_vec();
        let c = compare(&base, &summary(vec![unjudged]));
        assert_eq!(c.worse, [CellChange { id: "a".into(), changes: vec!["verdict pass -> unknown".into()] }]);
    }

    #[test]
    fn the_same_run_is_unchanged() {
        let s = summary(vec![cell("a", Some(0), Verdict::Pass), cell("b", Some(1), Verdict::Fail)]);
        let c = compare(&s, &s);
        assert_eq!(c, Comparison { unchanged: 2, ..Comparison::default() });
        assert!(c.render().ends_with("\nno cell got worse\n"));
    }
}
