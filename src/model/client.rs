//! The clients under test: which library a cell's producers and consumers use. Each is a worker
//! process speaking the worker protocol (`docs/worker-protocol.md`), in its own language. The one
//! table of what each client can do (its commit modes, its settings) lives here, so `check` and
//! the runner agree, and a new client is a compile error until every place handles it.

use super::commit::CommitMode;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumCount)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// librdkafka through rust-rdkafka: `kafka-chaos worker`.
    Rdkafka,
    /// Go's `github.com/IBM/sarama`: `workers/sarama/sarama-worker`.
    Sarama,
    /// Apache Kafka's `kafka-clients` for Java: `workers/java/target/kafka-chaos-worker.jar`.
    Java,
}

impl ClientKind {
    pub const ALL: [ClientKind; 3] = [ClientKind::Rdkafka, ClientKind::Sarama, ClientKind::Java];
    pub const DEFAULT: ClientKind = ClientKind::Rdkafka;

    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Rdkafka => "rdkafka",
            ClientKind::Sarama => "sarama",
            ClientKind::Java => "java",
        }
    }

    /// The commit modes the client can express, as its users write them.
    pub fn commit_modes(self) -> &'static [CommitMode] {
        use CommitMode as M;
        match self {
            ClientKind::Rdkafka => &M::ALL,
            // sarama commits only offsets the application marked: no `auto` (commit what was
            // fetched), and no asynchronous commit call.
            ClientKind::Sarama => &[M::AutoStoreAfterProcess, M::ManualSync, M::BeforeProcess],
            // kafka-clients has no offset store apart from commits.
            ClientKind::Java => &[M::Auto, M::ManualSync, M::ManualAsync, M::BeforeProcess],
        }
    }

    /// Whether the worker writes a `commit` line for every commit in `mode`. sarama reports no
    /// automatic commit, so the runner reads the group's offsets from the broker instead.
    pub fn reports_commits(self, mode: CommitMode) -> bool {
        !matches!(
            (self, mode),
            (ClientKind::Sarama, CommitMode::AutoStoreAfterProcess | CommitMode::BeforeProcess)
        )
    }

    /// Why the client cannot express `mode`, if it cannot.
    pub fn check_commit(self, mode: CommitMode) -> Result<(), String> {
        if self.commit_modes().contains(&mode) {
            return Ok(());
        }
        let why = match (self, mode) {
            (ClientKind::Sarama, CommitMode::Auto) => {
                "sarama commits only offsets the application marked; its nearest mode is before-process (MarkMessage on receipt)"
            }
            (ClientKind::Sarama, CommitMode::ManualAsync) => "sarama has no asynchronous commit",
            (ClientKind::Java, CommitMode::AutoStoreAfterProcess) => {
                "kafka-clients has no offset store apart from commits; use manual-sync or manual-async"
            }
            _ => "not supported",
        };
        let modes: Vec<&str> = self.commit_modes().iter().map(|m| m.as_str()).collect();
        Err(format!("client {self} cannot commit {mode}: {why} (its modes: {})", modes.join(", ")))
    }

    pub fn names() -> String {
        ClientKind::ALL.map(|c| c.as_str()).join(", ")
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientKind {
    type Err = String;

    fn from_str(s: &str) -> Result<ClientKind, String> {
        ClientKind::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown client \"{s}\"; clients are {}", ClientKind::names()))
    }
}

// `ALL` is written by hand; this makes a variant missing from it a compile error.
const _: () = assert!(ClientKind::ALL.len() == <ClientKind as strum::EnumCount>::COUNT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_says_what_it_cannot_commit() {
        for client in ClientKind::ALL {
            assert_eq!(client.as_str().parse::<ClientKind>(), Ok(client));
            for mode in CommitMode::ALL {
                match client.check_commit(mode) {
                    Ok(()) => assert!(client.commit_modes().contains(&mode)),
                    Err(why) => assert!(!why.ends_with("not supported"), "{client} {mode}: {why}"),
                }
            }
        }
        assert!(ClientKind::Sarama.check_commit(CommitMode::Auto).unwrap_err().contains("before-process"));
        assert!("kafka-python".parse::<ClientKind>().unwrap_err().contains("rdkafka, sarama, java"));
    }
}
