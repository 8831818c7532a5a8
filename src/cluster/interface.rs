//! The cluster as the runner sees it: a small required part (where to connect, the topology, the
//! harness's own topics) and fault abilities a cluster may or may not offer. Containers the
//! harness starts (`ContainerCluster`) and a cluster the user runs (`ExternalCluster`) are two
//! implementations; the runner and the fault schedule know only this trait.

use super::topology::{PartitionState, Topology};
use crate::error::{Error, Result};
use crate::model::{Ability, FaultActionKind};
use crate::model::security::Security;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one lag query may take before the drain asks again.
const LAG_TIMEOUT: Duration = Duration::from_secs(10);

/// What a fault or heal did, once its effect was observed.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub took: Duration,
    /// How it was done and observed, for the history (empty: nothing beyond the action itself).
    pub how: String,
    /// For a power cut: the bytes its filesystem discarded (what the broker had not fsynced).
    pub discarded_bytes: Option<u64>,
}

#[async_trait]
pub trait Cluster: Send + Sync {
    /// One line for reports: the image of a container cluster, the address of an external one.
    fn describe(&self) -> String;

    fn bootstrap_servers(&self) -> String;

    /// How clients authenticate to it (SASL, TLS); None: plaintext.
    fn security(&self) -> Option<&Security> {
        None
    }

    /// The name of a node in histories and reports: `broker-2`, `controller-1001`.
    fn node_label(&self, id: i32) -> String;

    /// Every broker's node id, ascending (the target `all-brokers`).
    fn broker_ids(&self) -> Vec<i32>;

    /// Every topic the harness creates on this cluster starts with this.
    fn topic_prefix(&self) -> &str {
        crate::model::environment::External::DEFAULT_TOPIC_PREFIX
    }

    /// The KRaft voters a step could take a majority of. A cluster that cannot tell (an
    /// external one whose controllers the scenario does not name) gives its brokers.
    fn voters(&self) -> Vec<i32> {
        self.broker_ids()
    }

    fn can(&self, ability: Ability) -> bool;

    /// Do `ability` to node `id`; returns once its effect is observed.
    async fn perform(&self, ability: Ability, id: i32) -> Result<Observed>;

    /// Faults still in force (what the harness did last to each node that is not healed).
    fn faulted(&self) -> Vec<(i32, FaultActionKind)>;

    /// The active KRaft controller, as the quorum reports it.
    async fn active_controller(&self) -> Result<i32>;

    /// Whether the next cell may use this cluster: no fault in force, every broker alive and in
    /// the ISR of its partitions. Err says what is wrong.
    async fn check_health(&self) -> std::result::Result<(), String>;

    /// A client of the brokers no fault holds (a paused broker would swallow requests).
    fn topology(&self) -> Result<Topology>;

    async fn partition(&self, topic: &str, partition: i32) -> Result<PartitionState> {
        self.topology()?.partition(topic, partition).await
    }

    async fn create_topic(&self, name: &str, partitions: i32, replication_factor: i32, config: &BTreeMap<String, String>) -> Result<()> {
        if !name.starts_with(self.topic_prefix()) {
            return Err(Error::infra(format!("topic {name} lacks the prefix {} (a bug)", self.topic_prefix())));
        }
        self.topology()?.create_topic(name, partitions, replication_factor, config).await
    }

    async fn delete_topic(&self, name: &str) -> Result<()> {
        if !name.starts_with(self.topic_prefix()) {
            return Err(Error::infra(format!("refusing to delete {name}: not a topic of the harness")));
        }
        self.topology()?.delete_topic(name).await
    }

    /// The group's committed offsets against the watermarks of every partition of `topic`.
    async fn group_lag(&self, group: &str, topic: &str) -> Result<crate::workload::GroupLag> {
        crate::workload::lag(&self.bootstrap_servers(), self.security(), group, topic, LAG_TIMEOUT).await
    }
}

/// Undo every fault still in force: each with the heal of its action. Each run ends with this,
/// before settle and drain.
pub async fn heal_all(cluster: &dyn Cluster) -> Result<Vec<(i32, FaultActionKind, Duration)>> {
    let mut healed = Vec::new();
    for (id, action) in cluster.faulted() {
        let (_, heal) = action.abilities();
        healed.push((id, action, cluster.perform(heal, id).await?.took));
    }
    Ok(healed)
}
