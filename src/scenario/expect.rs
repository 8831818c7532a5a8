//! Expectations: bounds on the checker's counts for the cells a `when` selects, and their
//! evaluation against the counts of one cell.

use super::matrix::Selector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

pub use crate::model::{Count, Counts};

/// Inclusive bounds on a count: `= N` is min = max = N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub min: u64,
    pub max: Option<u64>,
}

impl Bound {
    pub fn holds(self, actual: u64) -> bool {
        actual >= self.min && self.max.is_none_or(|max| actual <= max)
    }
}

/// One bound on one count, for the cells its expectation selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub count: Count,
    pub bound: Bound,
    /// The `when` it came with, as `key=value` pairs; empty: every cell.
    pub when: String,
    /// The expectation's `claim`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// Where it was written: `scenarios/seed-claims.toml:52:1`.
    pub source: String,
    /// Which `[[expect]]` it belongs to (0-based, in file order), to group results by claim.
    pub expectation: usize,
}

impl fmt::Display for Rule {
    /// `lost = 0`, `lost >= 1`, `duplicated <= 10`, `10 <= redelivered <= 20`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let (count, Bound { min, max }) = (self.count, self.bound);
        match max {
            Some(max) if max == min => write!(f, "{count} = {min}"),
            Some(max) if min == 0 => write!(f, "{count} <= {max}"),
            Some(max) => write!(f, "{min} <= {count} <= {max}"),
            None => write!(f, "{count} >= {min}"),
        }
    }
}

/// One `[[expect]]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    pub when: Selector,
    pub claim: Option<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// `lost = 0`.
    pub rule: String,
    pub passed: bool,
    pub actual: u64,
    /// False when the counts had no such count: the rule then fails, since an unchecked rule must
    /// not pass silently.
    pub reported: bool,
    /// False when the count could not be trusted either way: the evidence behind it is missing
    /// (see `judge`), e.g. a rule on a consumer-side count after the group failed to catch up.
    #[serde(default = "judged_by_default")]
    pub judged: bool,
    pub when: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    pub source: String,
    pub expectation: usize,
}

fn judged_by_default() -> bool {
    true
}

impl ExpectationResult {
    /// Judged and not held: what makes a cell fail.
    pub fn violated(&self) -> bool {
        self.judged && !self.passed
    }
}

/// Evaluate a cell's rules against its counts (by the names of `Count::as_str`). Rules on a count
/// in `unjudged` are evaluated but not judged: they neither pass nor fail the cell.
pub fn evaluate(rules: &[Rule], counts: &Counts, unjudged: &BTreeSet<Count>) -> Vec<ExpectationResult> {
    rules
        .iter()
        .map(|rule| {
            let actual = counts.get(rule.count);
            ExpectationResult {
                rule: rule.to_string(),
                passed: rule.bound.holds(actual),
                actual,
                // Every count is in every analysis; the field stays for the results already stored.
                reported: true,
                judged: !unjudged.contains(&rule.count),
                when: rule.when.clone(),
                claim: rule.claim.clone(),
                source: rule.source.clone(),
                expectation: rule.expectation,
            }
        })
        .collect()
}

/// A rule on `count` between `min` and `max` for every cell, for tests.
#[cfg(test)]
pub(crate) fn rule(count: Count, min: u64, max: Option<u64>) -> Rule {
    Rule {
        count,
        bound: Bound { min, max },
        when: String::new(),
        claim: None,
        source: "x.toml:1:1".into(),
        expectation: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_like_their_bounds() {
        assert_eq!(rule(Count::Lost, 0, Some(0)).to_string(), "lost = 0");
        assert_eq!(rule(Count::Lost, 1, None).to_string(), "lost >= 1");
        assert_eq!(rule(Count::Duplicated, 0, Some(10)).to_string(), "duplicated <= 10");
        assert_eq!(
            rule(Count::Redelivered, 10, Some(20)).to_string(),
            "10 <= redelivered <= 20"
        );
    }

    #[test]
    fn evaluates_against_counts() {
        let counts = Counts { lost: 3, ..Counts::default() };
        let rules = [
            rule(Count::Lost, 0, Some(0)),
            rule(Count::Lost, 1, None),
            rule(Count::Duplicated, 0, Some(0)),
            rule(Count::Redelivered, 1, None),
        ];
        let results = evaluate(&rules, &counts, &BTreeSet::new());
        let passed: Vec<bool> = results.iter().map(|r| r.passed).collect();
        assert_eq!(passed, [false, true, true, false]);
        assert_eq!(results[0].actual, 3);
    }

    #[test]
    fn consumer_side_rules_are_unjudged_when_the_consumers_did_not_catch_up() {
        let counts = Counts { unconsumed: 40, ..Counts::default() };
        let rules = [rule(Count::Lost, 0, Some(0)), rule(Count::Unconsumed, 0, Some(0)), rule(Count::Redelivered, 1, None)];
        let consumer_side: BTreeSet<Count> = Count::ALL.into_iter().filter(|c| c.needs_drained_consumers()).collect();
        let results = evaluate(&rules, &counts, &consumer_side);
        let judged: Vec<bool> = results.iter().map(|r| r.judged).collect();
        assert_eq!(judged, [true, false, false]);
        assert!(results.iter().all(|r| !r.violated()), "unjudged rules violate nothing");
        assert!(evaluate(&rules, &counts, &BTreeSet::new())[1].violated());
    }

    #[test]
    fn counts_parse_by_the_checkers_names() {
        assert_eq!("processed_twice".parse::<Count>(), Ok(Count::ProcessedTwice));
        assert_eq!("in_log".parse::<Count>(), Ok(Count::InLog));
        let e = "losts".parse::<Count>().unwrap_err();
        assert!(e.starts_with("unknown count \"losts\"; counts are sent, acked"), "{e}");
        assert!(e.ends_with("did you mean \"lost\"?"), "{e}");
    }
}
