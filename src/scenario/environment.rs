//! The cluster and the topic every cell runs against, before the matrix adds its settings.

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
}

impl Cluster {
    pub const DEFAULT_BROKERS: u16 = 3;
    pub const MAX_BROKERS: u16 = 9;
    pub const MAX_CONTROLLERS: u16 = 5;
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
