//! Fault steps meet the live cluster: a symbolic target (`leader:0`, `followers:0`, `controller`)
//! becomes concrete victims only when the step fires, and the history records which were hit.
//! Broker faults are applied here; client faults (consumer, producer) by the runner, which owns
//! the client processes.

use crate::cluster::{Cluster, Observed};
use crate::error::{Error, Result};
use crate::scenario::{FaultActionKind, FaultTarget};
use std::time::Duration;

/// Something a fault step hit, resolved at fire time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Victim {
    /// A Kafka node id (broker or dedicated controller).
    Node(i32),
    Consumer(u32),
    Producer(u32),
}

impl Victim {
    /// The name used in histories and reports: `broker-2`, `consumer-0`.
    pub fn label(&self, cluster: &dyn Cluster) -> String {
        match self {
            Victim::Node(id) => cluster.node_label(*id),
            Victim::Consumer(i) => format!("consumer-{i}"),
            Victim::Producer(i) => format!("producer-{i}"),
        }
    }
}

/// How long resolving a target may retry: metadata can be briefly unavailable mid-fault.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(15);

/// Resolve a target against the cluster as it is now, retrying while metadata is unavailable.
pub async fn resolve(target: FaultTarget, cluster: &dyn Cluster, topic: &str) -> Result<Vec<Victim>> {
    let began = std::time::Instant::now();
    loop {
        match resolve_once(target, cluster, topic).await {
            Ok(victims) => return Ok(victims),
            Err(e) if began.elapsed() >= RESOLVE_TIMEOUT => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn resolve_once(target: FaultTarget, cluster: &dyn Cluster, topic: &str) -> Result<Vec<Victim>> {
    Ok(match target {
        FaultTarget::Leader(p) => {
            let state = cluster.partition(topic, p as i32).await?;
            let leader = state
                .leader
                .ok_or_else(|| Error::infra(format!("partition {p} has no leader to fault")))?;
            vec![Victim::Node(leader)]
        }
        FaultTarget::Followers(p) => {
            let state = cluster.partition(topic, p as i32).await?;
            state.followers().into_iter().map(Victim::Node).collect()
        }
        FaultTarget::Controller => vec![Victim::Node(cluster.active_controller().await?)],
        FaultTarget::Broker(id) => vec![Victim::Node(id as i32)],
        FaultTarget::Brokers(mask) => FaultTarget::broker_set(mask).into_iter().map(|id| Victim::Node(id as i32)).collect(),
        FaultTarget::AllBrokers => cluster.broker_ids().into_iter().map(Victim::Node).collect(),
        FaultTarget::Consumer(i) => vec![Victim::Consumer(i)],
        FaultTarget::Producer(i) => vec![Victim::Producer(i)],
        FaultTarget::RandomBroker => {
            return Err(Error::infra("random-broker should have been drawn by the plan (a bug)"))
        }
    })
}

/// Apply `action` to a node; returns once the effect is observable.
pub async fn break_node(cluster: &dyn Cluster, action: FaultActionKind, id: i32) -> Result<Observed> {
    cluster.perform(action.abilities().0, id).await
}

/// Undo `action` on a node: restart, resume or reconnect.
pub async fn heal_node(cluster: &dyn Cluster, action: FaultActionKind, id: i32) -> Result<Observed> {
    cluster.perform(action.abilities().1, id).await
}

/// Whether a step's victims are hit (and healed) at once rather than one after the other. A
/// power cut hits a rack at once. Nodes that include a majority of the KRaft voters must come
/// back together: one alone waits for a quorum the others are part of; and a whole-cluster
/// crash is one event, not three.
pub fn at_once(action: FaultActionKind, victims: &[Victim], voters: &[i32]) -> bool {
    let hit = voters.iter().filter(|v| victims.contains(&Victim::Node(**v))).count();
    action.row().together || (victims.len() > 1 && !voters.is_empty() && hit > voters.len() / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_voter_majority_is_hit_and_healed_at_once() {
        let voters = [1, 2, 3];
        let nodes = |ids: &[i32]| ids.iter().map(|&id| Victim::Node(id)).collect::<Vec<_>>();
        assert!(at_once(FaultActionKind::Kill, &nodes(&[1, 2, 3]), &voters));
        assert!(at_once(FaultActionKind::Stop, &nodes(&[2, 3]), &voters));
        assert!(!at_once(FaultActionKind::Kill, &nodes(&[2]), &voters));
        assert!(!at_once(FaultActionKind::Pause, &nodes(&[1, 3]), &[1001, 1002, 1003]));
        assert!(at_once(FaultActionKind::PowerLoss, &nodes(&[1]), &voters));
    }
}
