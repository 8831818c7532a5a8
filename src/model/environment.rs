//! The cluster and the topic every cell runs against, before the matrix adds its settings.

use super::fault::Ability;
use super::security::{SaslCredentials, SaslMechanism, Security, SecurityProtocol};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Broker ids are 1..=brokers.
    pub brokers: u16,
    /// Dedicated KRaft controllers; 0: every broker is also a controller.
    pub controllers: u16,
    pub kafka_version: String,
    /// Base broker settings; a cell's matrix values for broker keys override them.
    pub broker_config: BTreeMap<String, String>,
    /// Some: a cluster the user runs (`kind = "external"`), faulted through its hooks; the
    /// harness starts and removes nothing of it. None: containers the harness starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<External>,
}

impl Cluster {
    pub const DEFAULT_BROKERS: u16 = 3;
    pub const MAX_BROKERS: u16 = 9;
    pub const MAX_CONTROLLERS: u16 = 5;

    /// The ids `broker:N` and `random-broker` may name.
    pub fn broker_ids(&self) -> Vec<u32> {
        match &self.external {
            Some(external) => external.nodes.keys().map(|&id| id as u32).collect(),
            None => (1..=u32::from(self.brokers)).collect(),
        }
    }

    /// Whether this cluster can do `ability` to a node: containers can do everything, an
    /// external cluster what it has a hook for.
    pub fn can(&self, ability: Ability) -> bool {
        self.external.as_ref().is_none_or(|e| e.hooks.contains_key(&ability))
    }
}

/// A cluster the user runs: where to reach it, its nodes, and a shell command per fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    pub bootstrap: String,
    /// Every topic the harness creates starts with this; it deletes only those.
    pub topic_prefix: String,
    /// Command templates with `{variable}`s from the node's table, `{id}` and `{bootstrap}`.
    pub hooks: BTreeMap<Ability, String>,
    /// Node id -> the variables its hooks use (host, pod, container, unit, ...).
    pub nodes: BTreeMap<i32, BTreeMap<String, String>>,
    /// How clients authenticate; None: plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<ExternalSecurity>,
}

/// `[cluster.security]` as checked: everything but the password itself, which is read from
/// `password_env` when the cluster is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalSecurity {
    pub protocol: SecurityProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<ExternalSasl>,
    /// An absolute path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalSasl {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password_env: String,
}

impl ExternalSecurity {
    /// The clients' settings, with the password from the environment.
    pub fn with_password(&self) -> Result<Security, String> {
        let sasl = match &self.sasl {
            None => None,
            Some(s) => {
                let password = std::env::var(&s.password_env).map_err(|_| {
                    format!(
                        "[cluster.security] password_env names {}, which is not set: export {}=... (the password of {})",
                        s.password_env, s.password_env, s.username
                    )
                })?;
                Some(SaslCredentials { mechanism: s.mechanism, username: s.username.clone(), password })
            }
        };
        Ok(Security { protocol: self.protocol, sasl, ca_file: self.ca_file.clone() })
    }
}

impl External {
    pub const DEFAULT_TOPIC_PREFIX: &'static str = "kc-";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub partitions: u32,
    pub replication_factor: u16,
    /// Base topic configs; a cell's matrix values for topic keys override them.
    pub config: BTreeMap<String, String>,
}

impl Topic {
    pub const DEFAULT_PARTITIONS: u32 = 3;
    /// The default replication factor, capped at the broker count.
    pub const DEFAULT_REPLICATION_FACTOR: u16 = 3;
}
