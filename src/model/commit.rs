//! When a consumer commits its offsets relative to processing a record: the consumer-side choice
//! between losing records (commit before processing) and processing some twice (commit after).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumCount)]
#[serde(rename_all = "kebab-case")]
pub enum CommitMode {
    /// librdkafka stores each offset when poll returns the record and commits in the background
    /// every `auto.commit.interval.ms`: records still in the processing buffer can be committed.
    Auto,
    /// Background commits, but the application stores an offset only after processing its record.
    AutoStoreAfterProcess,
    /// Synchronous commit after processing (every `commit_every` records).
    ManualSync,
    /// Asynchronous commit after processing (every `commit_every` records).
    ManualAsync,
    /// Synchronous commit as records are taken for processing, before they are processed.
    BeforeProcess,
}

impl CommitMode {
    pub const ALL: [CommitMode; 5] = [
        CommitMode::Auto,
        CommitMode::AutoStoreAfterProcess,
        CommitMode::ManualSync,
        CommitMode::ManualAsync,
        CommitMode::BeforeProcess,
    ];

    /// Used when the matrix has no `commit` key.
    pub const DEFAULT: CommitMode = CommitMode::Auto;

    pub fn as_str(self) -> &'static str {
        match self {
            CommitMode::Auto => "auto",
            CommitMode::AutoStoreAfterProcess => "auto-store-after-process",
            CommitMode::ManualSync => "manual-sync",
            CommitMode::ManualAsync => "manual-async",
            CommitMode::BeforeProcess => "before-process",
        }
    }

    /// The librdkafka consumer properties this mode sets; a scenario may not set them itself.
    pub fn consumer_properties(self) -> [(&'static str, &'static str); 2] {
        match self {
            CommitMode::Auto => [("enable.auto.commit", "true"), ("enable.auto.offset.store", "true")],
            CommitMode::AutoStoreAfterProcess => {
                [("enable.auto.commit", "true"), ("enable.auto.offset.store", "false")]
            }
            CommitMode::ManualSync | CommitMode::ManualAsync | CommitMode::BeforeProcess => {
                [("enable.auto.commit", "false"), ("enable.auto.offset.store", "false")]
            }
        }
    }

    /// Whether the application commits explicitly (and so `commit_every` applies).
    pub fn is_manual(self) -> bool {
        matches!(
            self,
            CommitMode::ManualSync | CommitMode::ManualAsync | CommitMode::BeforeProcess
        )
    }

    pub fn names() -> String {
        CommitMode::ALL.map(|m| m.as_str()).join(", ")
    }
}

impl fmt::Display for CommitMode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CommitMode {
    type Err = String;

    fn from_str(s: &str) -> Result<CommitMode, String> {
        CommitMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("commit must be one of {}; found \"{s}\"", CommitMode::names()))
    }
}

// `ALL` is written by hand; this makes a variant missing from it a compile error.
const _: () = assert!(CommitMode::ALL.len() == <CommitMode as strum::EnumCount>::COUNT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for mode in CommitMode::ALL {
            assert_eq!(mode.as_str().parse::<CommitMode>(), Ok(mode));
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{mode}\""));
        }
        assert!("sync".parse::<CommitMode>().unwrap_err().contains("found \"sync\""));
    }
}
