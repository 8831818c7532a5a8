//! Expectations: bounds on the checker's counts for the cells a `when` selects, and their
//! evaluation against the counts of one cell.

use super::matrix::Selector;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The checker's counts, by their names in `analysis.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    Sent,
    Acked,
    Failed,
    Unknown,
    InLog,
    Lost,
    Duplicated,
    Reordered,
    Unexpected,
    Recovered,
    Unconsumed,
    Redelivered,
    ProcessedTwice,
}

impl Count {
    /// Counts that depend on the consumers having processed everything in the log.
    pub fn needs_drained_consumers(self) -> bool {
        matches!(self, Count::Unconsumed | Count::Redelivered | Count::ProcessedTwice)
    }

    pub const ALL: [Count; 13] = [
        Count::Sent,
        Count::Acked,
        Count::Failed,
        Count::Unknown,
        Count::InLog,
        Count::Lost,
        Count::Duplicated,
        Count::Reordered,
        Count::Unexpected,
        Count::Recovered,
        Count::Unconsumed,
        Count::Redelivered,
        Count::ProcessedTwice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Count::Sent => "sent",
            Count::Acked => "acked",
            Count::Failed => "failed",
            Count::Unknown => "unknown",
            Count::InLog => "in_log",
            Count::Lost => "lost",
            Count::Duplicated => "duplicated",
            Count::Reordered => "reordered",
            Count::Unexpected => "unexpected",
            Count::Recovered => "recovered",
            Count::Unconsumed => "unconsumed",
            Count::Redelivered => "redelivered",
            Count::ProcessedTwice => "processed_twice",
        }
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        Count::ALL.into_iter().map(Count::as_str)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Count {
    type Err = String;

    fn from_str(s: &str) -> Result<Count, String> {
        Count::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!(
                "unknown count \"{s}\"; counts are {}{}",
                Count::names().collect::<Vec<_>>().join(", "),
                super::property::did_you_mean(s, Count::names())
            )
        })
    }
}

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
pub fn evaluate(rules: &[Rule], counts: &BTreeMap<String, u64>, unjudged: &BTreeSet<Count>) -> Vec<ExpectationResult> {
    rules
        .iter()
        .map(|rule| {
            let actual = counts.get(rule.count.as_str()).copied();
            ExpectationResult {
                rule: rule.to_string(),
                passed: actual.is_some_and(|a| rule.bound.holds(a)),
                actual: actual.unwrap_or(0),
                reported: actual.is_some(),
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
        let counts: BTreeMap<String, u64> = [("lost".to_string(), 3), ("duplicated".to_string(), 0)]
            .into_iter()
            .collect();
        let rules = [
            rule(Count::Lost, 0, Some(0)),
            rule(Count::Lost, 1, None),
            rule(Count::Duplicated, 0, Some(0)),
            rule(Count::Redelivered, 0, None),
        ];
        let results = evaluate(&rules, &counts, &BTreeSet::new());
        let passed: Vec<bool> = results.iter().map(|r| r.passed).collect();
        assert_eq!(passed, [false, true, true, false]);
        assert_eq!(results[0].actual, 3);
        assert!(!results[3].reported);
    }

    #[test]
    fn consumer_side_rules_are_unjudged_when_the_consumers_did_not_catch_up() {
        let counts: BTreeMap<String, u64> =
            [("lost", 0), ("unconsumed", 40), ("redelivered", 0)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
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
