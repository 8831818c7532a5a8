//! The checker's counts, declared once. Each row yields a `Count` variant, a field of `Counts`
//! (its name in `analysis.json`, `summary.csv` and scenario expectations), what it means, and
//! how reports and judges treat it; every other place iterates `Count::ALL` or matches it.

use super::suggest::did_you_mean;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! counts {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $field:ident {
            meaning: $meaning:literal,
            drained: $drained:literal,
            regression: $regression:literal $(,)?
        }
    )+) => {
        /// A count by name; `rename_all` gives the same names as the fields of `Counts`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Count {
            $( $(#[doc = $doc])* $variant, )+
        }

        /// Counts missing from an older analysis.json read as 0.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Counts {
            $( $(#[doc = $doc])* pub $field: u64, )+
        }

        impl Count {
            /// Every count, in the order reports show them.
            pub const ALL: [Count; { [$(stringify!($variant)),+].len() }] = [$(Count::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $( Count::$variant => stringify!($field), )+ }
            }

            /// What it counts, in a few words, for reports.
            pub fn meaning(self) -> &'static str {
                match self { $( Count::$variant => $meaning, )+ }
            }

            /// Counts that depend on the consumers having processed everything in the log.
            pub fn needs_drained_consumers(self) -> bool {
                match self { $( Count::$variant => $drained, )+ }
            }

            /// Counts a comparison of two runs watches: more of any of them is worse.
            pub fn more_is_regression(self) -> bool {
                match self { $( Count::$variant => $regression, )+ }
            }
        }

        impl Counts {
            pub fn get(&self, count: Count) -> u64 {
                match count { $( Count::$variant => self.$field, )+ }
            }
        }
    };
}

counts! {
    /// Messages with a send event.
    Sent sent { meaning: "messages with a send event", drained: false, regression: false }
    /// Messages by send outcome.
    Acked acked { meaning: "acknowledged to the producer", drained: false, regression: false }
    Failed failed { meaning: "definitely not written", drained: false, regression: false }
    Unknown unknown { meaning: "no definite outcome", drained: false, regression: false }
    /// Messages with at least one record in the final log.
    InLog in_log { meaning: "messages with a record in the final log", drained: false, regression: false }
    /// Acked messages with no record in the log.
    Lost lost { meaning: "acked, not in the log", drained: false, regression: true }
    /// Messages with two or more records in the log.
    Duplicated duplicated { meaning: "two or more records in the log", drained: false, regression: true }
    /// Log records that, within one partition, come after a record of the same producer with a
    /// strictly higher seq.
    Reordered reordered { meaning: "records after a higher seq of their producer", drained: false, regression: true }
    /// Messages in the log whose send failed, or that were never sent.
    Unexpected unexpected { meaning: "in the log, but failed or never sent", drained: false, regression: true }
    /// Messages whose outcome was unknown and that are in the log.
    Recovered recovered { meaning: "outcome unknown, in the log", drained: false, regression: false }
    /// Messages in the log with no processed event.
    Unconsumed unconsumed { meaning: "in the log, never processed", drained: true, regression: true }
    /// Records (partition, offset) processed two or more times; a record processed three times
    /// counts once.
    Redelivered redelivered { meaning: "records processed more than once", drained: true, regression: false }
    /// Messages processed two or more times, for any reason (redelivery or duplicates in the log).
    ProcessedTwice processed_twice { meaning: "messages processed more than once", drained: true, regression: false }
    /// Messages of transactions that were aborted, seen all the same: in the final log or
    /// processed by a consumer. Under read_committed an anomaly (Jepsen's G1a); under
    /// read_uncommitted the control that shows the aborted data is there.
    AbortedRead aborted_read { meaning: "of an aborted transaction, yet read", drained: false, regression: true }
    /// Transactions committed or of unknown outcome of which the final log holds some messages
    /// but not all.
    Torn torn { meaning: "transactions partly in the final log", drained: false, regression: true }
}

impl Count {
    pub fn names() -> impl Iterator<Item = &'static str> {
        Count::ALL.into_iter().map(Count::as_str)
    }

    /// The name in prose: `in log`, `processed twice`.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl Counts {
    /// Every count with its value, in `Count::ALL` order.
    pub fn iter(&self) -> impl Iterator<Item = (Count, u64)> + '_ {
        Count::ALL.into_iter().map(|c| (c, self.get(c)))
    }

    /// The share of messages sent whose outcome is definite (acked or failed), 0 to 1; 1 when
    /// nothing was sent.
    pub fn definite_share(&self) -> f64 {
        if self.sent == 0 {
            1.0
        } else {
            (self.acked + self.failed) as f64 / self.sent as f64
        }
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
            format!("unknown count \"{s}\"; counts are {}{}", Count::names().collect::<Vec<_>>().join(", "), did_you_mean(s, Count::names()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_named_alike_as_a_variant_and_as_a_field() {
        let mut counts = Counts::default();
        counts.in_log = 7;
        counts.processed_twice = 3;
        let json = serde_json::to_value(counts).unwrap();
        for c in Count::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(json[c.as_str()].as_u64(), Some(counts.get(c)), "{c}");
        }
        assert_eq!(json.as_object().unwrap().len(), Count::ALL.len());
        assert_eq!("in_log".parse::<Count>(), Ok(Count::InLog));
        assert!("losst".parse::<Count>().unwrap_err().contains("did you mean \"lost\""));
    }
}
