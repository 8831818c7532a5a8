//! A cluster the user runs (`[cluster] kind = "external"`). The harness starts and removes
//! nothing of it: faults are the user's shell commands (hooks), filled in with the node's
//! variables, and every effect is observed through Kafka itself, as a client sees it: a broken
//! broker leaves the live set (KRaft fences a broker that stops heartbeating), a healed one is
//! listed alive again and back in the ISR of its partitions. The only things the harness creates
//! are its own topics, all with the cluster's prefix, and it deletes any it left behind.

use super::interface::{Cluster, Observed};
use super::topology::{wait_until, Topology};
use super::HEALTH_TIMEOUT;
use crate::error::{Error, Result};
use crate::model::environment::External;
use crate::model::template::fill;
use crate::model::{Ability, FaultActionKind};
use crate::model::security::Security;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A hook that runs longer than this has failed (an ssh that hangs, a kubectl that waits).
const HOOK_TIMEOUT: Duration = Duration::from_secs(120);
/// A broker that stops heartbeating is fenced after `broker.session.timeout.ms` (9 s by
/// default); leave room for a longer setting and a slow controller.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Failed metadata probes in a row that make a broker silent (200 ms apart, each up to 3 s).
const SILENT_PROBES: u32 = 3;
/// Catching up after a restart can take a while with a full log.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(120);

pub struct ExternalCluster {
    spec: External,
    /// `spec.security` with its password.
    security: Option<Security>,
    /// Each broker's client address, for a client of the brokers no fault holds.
    addresses: BTreeMap<i32, String>,
    /// What the harness did last to each node that is not healed yet.
    faults: Mutex<BTreeMap<i32, FaultActionKind>>,
    /// Topics the harness created and has not deleted yet.
    topics: Mutex<BTreeSet<String>>,
}

impl ExternalCluster {
    /// Reach the cluster, check that its brokers are the nodes the scenario names and that it is
    /// healthy (every broker alive and in the ISR of all its partitions).
    pub async fn connect(spec: &External) -> Result<ExternalCluster> {
        let security = spec.security.as_ref().map(|s| s.with_password()).transpose().map_err(Error::Invalid)?;
        let topology = Topology::connect(&spec.bootstrap, security.as_ref())?;
        let began = Instant::now();
        let addresses = loop {
            match topology.broker_addresses().await {
                Ok(found) => break found,
                Err(e) if began.elapsed() >= Duration::from_secs(30) => {
                    return Err(Error::infra(format!(
                        "no broker answers at {} (the external cluster's bootstrap) within 30 s: {e}; check the address, \
                         and [cluster.security] if the cluster authenticates its clients",
                        spec.bootstrap
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        let named: Vec<i32> = spec.nodes.keys().copied().collect();
        let live: Vec<i32> = addresses.keys().copied().collect();
        if named != live {
            return Err(Error::Invalid(format!(
                "the cluster at {} lists brokers {live:?}, but [cluster.nodes] names {named:?}: name every broker, by its node.id",
                spec.bootstrap
            )));
        }
        let cluster = ExternalCluster {
            spec: spec.clone(),
            security,
            addresses,
            faults: Mutex::new(BTreeMap::new()),
            topics: Mutex::new(BTreeSet::new()),
        };
        cluster
            .check_health()
            .await
            .map_err(|why| Error::infra(format!("the external cluster at {} is not healthy: {why}", spec.bootstrap)))?;
        Ok(cluster)
    }

    /// Delete every topic the harness created and did not delete (a run that ended early).
    pub async fn remove_own_topics(&self) {
        let left: Vec<String> = self.topics.lock().unwrap().iter().cloned().collect();
        for topic in left {
            if let Err(e) = Cluster::delete_topic(self, &topic).await {
                eprintln!("warning: could not delete topic {topic} from the external cluster: {e}");
            }
        }
    }

    fn vars(&self, id: i32) -> Result<BTreeMap<String, String>> {
        let mut vars = self
            .spec
            .nodes
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("node {id} is not in [cluster.nodes]")))?;
        vars.insert("id".into(), id.to_string());
        vars.insert("bootstrap".into(), self.spec.bootstrap.clone());
        Ok(vars)
    }

    /// Run a hook for node `id` with a shell; Ok(its output), Err with its exit and output.
    async fn run_hook(&self, name: &str, template: &str, id: i32) -> Result<(String, String)> {
        let command = fill(template, &self.vars(id)?);
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::infra(format!("cannot run the {name} hook `{command}`: {e}")))?;
        let output = tokio::time::timeout(HOOK_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| Error::infra(format!("the {name} hook `{command}` ran longer than {} s", HOOK_TIMEOUT.as_secs())))?
            .map_err(|e| Error::infra(format!("the {name} hook `{command}` failed: {e}")))?;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            return Err(Error::infra(format!("the {name} hook `{command}` exited with {}: {}", output.status, text.trim())));
        }
        Ok((command, text))
    }

    /// The addresses of the brokers no fault holds, or the bootstrap if every one is faulted.
    fn running_bootstrap(&self) -> String {
        let faults = self.faults.lock().unwrap();
        let running: Vec<&str> =
            self.addresses.iter().filter(|(id, _)| !faults.contains_key(id)).map(|(_, a)| a.as_str()).collect();
        match running.is_empty() {
            true => self.spec.bootstrap.clone(),
            false => running.join(","),
        }
    }

    /// A client of the brokers no fault holds, or of all of them if every one is faulted.
    fn running_topology(&self) -> Result<Topology> {
        Topology::connect(&self.running_bootstrap(), self.security.as_ref())
    }

    /// Wait until node `id` has left the live set or stopped answering (broken), or answers
    /// again and is alive and in every ISR (healed).
    async fn observe(&self, ability: Ability, id: i32) -> Result<String> {
        let label = self.node_label(id);
        let topology = self.running_topology()?;
        let address = self.addresses.get(&id).cloned().unwrap_or_default();
        if ability.breaks() {
            // Fenced, or silent: a fault that takes the controller quorum with it (both
            // followers of a three-node combined cluster paused) leaves no controller to fence
            // the broker, but the broker itself stops answering. One failed probe is not
            // silence (a GC pause, a slow reply): it takes SILENT_PROBES in a row.
            let began = Instant::now();
            let mut silent = 0;
            loop {
                let fenced = topology.live_brokers().await.is_ok_and(|b| !b.contains(&id));
                let answered = fenced || answers(&address, self.security.as_ref()).await;
                match has_left(fenced, answered, &mut silent) {
                    Some(Left::Fenced) => return Ok(format!("{label} left the live set")),
                    Some(Left::Silent) => {
                        return Ok(format!("{label} stopped answering at {address} ({silent} probes in a row)"))
                    }
                    None => {}
                }
                if began.elapsed() >= LEAVE_TIMEOUT {
                    return Err(Error::infra(format!(
                        "{label} still answered and was listed alive {} s after the {ability} hook",
                        LEAVE_TIMEOUT.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        // The broker itself must answer: a killed broker stays listed alive and in the ISR
        // until it is fenced, so the metadata alone cannot tell it from a restarted one.
        let security = self.security.as_ref();
        wait_until(REJOIN_TIMEOUT, || async { answers(&address, security).await && topology.rejoined(id).await })
            .await
            .map_err(|w| {
                Error::infra(format!("{label} did not answer and rejoin the ISR of its partitions within {} s of the {ability} hook", w.as_secs()))
            })?;
        Ok(format!("{label} answers, is alive and in every ISR again"))
    }
}

#[async_trait]
impl Cluster for ExternalCluster {
    fn describe(&self) -> String {
        format!("external cluster at {}", self.spec.bootstrap)
    }

    fn bootstrap_servers(&self) -> String {
        self.spec.bootstrap.clone()
    }

    fn node_label(&self, id: i32) -> String {
        crate::model::NodeKind::Broker.label(id)
    }

    fn broker_ids(&self) -> Vec<i32> {
        self.spec.nodes.keys().copied().collect()
    }

    fn topic_prefix(&self) -> &str {
        &self.spec.topic_prefix
    }

    fn can(&self, ability: Ability) -> bool {
        self.spec.hooks.contains_key(&ability)
    }

    async fn perform(&self, ability: Ability, id: i32) -> Result<Observed> {
        let began = Instant::now();
        let template = self.spec.hooks.get(&ability).ok_or_else(|| {
            Error::Invalid(format!("this cluster has no {ability} hook (check should have rejected the step; a bug)"))
        })?;
        let (command, _) = self.run_hook(ability.as_str(), template, id).await?;
        // Until observed, the node counts as faulted: a client must not wait on it.
        let action = ability.action_it_breaks();
        if let Some(action) = action {
            self.faults.lock().unwrap().insert(id, action);
        }
        let seen = self.observe(ability, id).await?;
        if !ability.breaks() {
            self.faults.lock().unwrap().remove(&id);
        }
        Ok(Observed { took: began.elapsed(), how: format!("hook `{command}`; {seen}"), ..Observed::default() })
    }

    fn security(&self) -> Option<&Security> {
        self.security.as_ref()
    }

    fn faulted(&self) -> Vec<(i32, FaultActionKind)> {
        self.faults.lock().unwrap().iter().map(|(id, a)| (*id, *a)).collect()
    }

    async fn active_controller(&self) -> Result<i32> {
        Ok(super::quorum::describe(&self.running_bootstrap(), self.security.as_ref()).await?.leader_id)
    }

    async fn check_health(&self) -> std::result::Result<(), String> {
        let faulted = self.faulted();
        if !faulted.is_empty() {
            let list: Vec<String> = faulted.iter().map(|(id, a)| format!("{} {a}", self.node_label(*id))).collect();
            return Err(format!("faults still in force: {}", list.join(", ")));
        }
        let topology = self.running_topology().map_err(|e| e.to_string())?;
        let expected: Vec<i32> = self.spec.nodes.keys().copied().collect();
        topology.wait_healthy(&expected, HEALTH_TIMEOUT).await
    }

    fn topology(&self) -> Result<Topology> {
        self.running_topology()
    }

    async fn create_topic(&self, name: &str, partitions: i32, replication_factor: i32, config: &BTreeMap<String, String>) -> Result<()> {
        if !name.starts_with(self.topic_prefix()) {
            return Err(Error::infra(format!("topic {name} lacks the prefix {} (a bug)", self.topic_prefix())));
        }
        // Recorded first: a creation that times out may still have happened.
        self.topics.lock().unwrap().insert(name.to_string());
        self.running_topology()?.create_topic(name, partitions, replication_factor, config).await
    }

    async fn delete_topic(&self, name: &str) -> Result<()> {
        if !self.topics.lock().unwrap().contains(name) {
            return Err(Error::infra(format!("refusing to delete {name}: the harness did not create it")));
        }
        self.running_topology()?.delete_topic(name).await?;
        self.topics.lock().unwrap().remove(name);
        Ok(())
    }
}

/// How a broken broker was seen to leave.
#[derive(Debug, PartialEq, Eq)]
enum Left {
    Fenced,
    Silent,
}

/// After one probe of a broken broker: whether it has left, by being fenced or by failing
/// SILENT_PROBES probes in a row (`silent` counts them; an answer starts it again).
fn has_left(fenced: bool, answered: bool, silent: &mut u32) -> Option<Left> {
    if fenced {
        return Some(Left::Fenced);
    }
    *silent = if answered { 0 } else { *silent + 1 };
    (*silent >= SILENT_PROBES).then_some(Left::Silent)
}

/// Whether the broker at `address` answers a metadata request of a client that knows only it.
async fn answers(address: &str, security: Option<&Security>) -> bool {
    match Topology::connect(address, security) {
        Ok(alone) => alone.live_brokers().await.is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failed_probe_is_not_silence() {
        let mut silent = 0;
        // A broker in a GC pause misses one probe, then answers: it never left.
        assert_eq!(has_left(false, false, &mut silent), None);
        assert_eq!(has_left(false, true, &mut silent), None);
        assert_eq!(has_left(false, false, &mut silent), None);
        assert_eq!(has_left(false, false, &mut silent), None);
        assert_eq!(has_left(false, false, &mut silent), Some(Left::Silent));
        assert_eq!(has_left(true, true, &mut 0), Some(Left::Fenced));
    }
}
