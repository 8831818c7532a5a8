//! A real Kafka cluster in Docker containers: KRaft brokers (combined broker+controller, or with
//! dedicated controllers), one network and one run id per cluster, fixed host ports on 127.0.0.1.
//!
//! `Cluster::start` brings every node up concurrently (a KRaft broker blocks until it is unfenced,
//! which needs a controller quorum, so a sequential start waits forever). Fault operations live in
//! `faults.rs`, topology queries in `topology.rs`. `with_cluster` is the only way commands use a
//! cluster: it removes every container and network of the run on success, error, Ctrl-C and panic.

pub mod as_external;
pub mod docker;
pub mod external;
#[cfg(test)]
pub mod fake;
pub mod faults;
pub mod image;
pub mod interface;
mod as_cluster;
mod lifecycle;
mod node_env;
pub mod power;
pub mod quorum;
pub mod topology;

use crate::error::{Error, Result};
use docker::RUN_LABEL;
use futures::future::join_all;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testcontainers::bollard::Docker;
use testcontainers::core::ContainerPort;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
pub use external::ExternalCluster;
pub use interface::{heal_all, Cluster, Observed};
pub use topology::{PartitionState, Topology};
pub use lifecycle::{interrupted, with_cluster, with_external};
use node_env::{bootstrap_of, cluster_id, container_request, plan_nodes};
pub use node_env::property_env_name;
use crate::model::{Ability, FaultActionKind, NodeKind};
use crate::model::security::{SaslCredentials, Security, SecurityProtocol};

/// The newest Kafka 4.x release on Maven Central that the offline image recipe was verified with.
pub const DEFAULT_KAFKA_VERSION: &str = "4.4.0";

/// The line the broker logs to stdout once it serves requests (3.9.x and 4.x alike).
pub(crate) const READY_LINE: &str = "Kafka Server started";
pub(crate) const INTERNAL_PORT: u16 = 19092;
const CONTROLLER_PORT: u16 = 9093;
const EXTERNAL_PORT: u16 = 9092;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a cluster may take to look healthy after a cell (replicas catching up).
pub(crate) const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Broker ids are 1..=N; dedicated controllers get ids from here on, so `broker:N` stays N.
const FIRST_CONTROLLER_ID: i32 = 1001;

#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub brokers: u16,
    /// Dedicated KRaft controllers; 0 means every broker is also a controller.
    pub controllers: u16,
    pub kafka_version: String,
    /// An explicit image; None resolves one (see `image::resolve`).
    pub image: Option<String>,
    /// Broker settings by their own names (`min.insync.replicas`, ...), applied to every broker.
    pub broker_config: BTreeMap<String, String>,
    /// Some: the client listener asks for SASL PLAIN with this one user (`cluster up
    /// --sasl-plain`), to try the harness's clients on a cluster that authenticates them.
    pub sasl_plain: Option<SaslCredentials>,
    /// Some: every broker's log directory sits on this filesystem binary (kafka-chaos-lazyfs),
    /// for `power-loss`; only such clusters get /dev/fuse and CAP_SYS_ADMIN.
    pub lazyfs: Option<std::path::PathBuf>,
}

/// The environment variable `cluster up --sasl-plain` reads the user's password from, and the
/// `--print-external` table names.
pub const SASL_PASSWORD_ENV: &str = "KAFKA_CHAOS_PASSWORD";

impl ClusterSpec {
    pub fn new(brokers: u16) -> ClusterSpec {
        ClusterSpec {
            brokers,
            controllers: 0,
            kafka_version: DEFAULT_KAFKA_VERSION.to_string(),
            image: None,
            broker_config: BTreeMap::new(),
            sasl_plain: None,
            lazyfs: None,
        }
    }

    /// How clients reach the client listener.
    pub fn security(&self) -> Option<Security> {
        self.sasl_plain.as_ref().map(|user| Security {
            protocol: SecurityProtocol::SaslPlaintext,
            sasl: Some(user.clone()),
            ca_file: None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    /// Broker and KRaft controller in one process.
    Combined,
    Broker,
    Controller,
}

/// What the harness last did to a node; `heal_all` uses it to undo every fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Running,
    /// Broken by this action, and not healed yet.
    Faulted(FaultActionKind),
    /// Paused by SIGSTOP, when the cgroup freezer failed (resumed by SIGCONT, not unpause).
    SigStopped,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: i32,
    pub role: NodeRole,
    /// Container name, also its host name on the run's network.
    pub container: String,
    /// Host port of the client listener on 127.0.0.1 (None for a dedicated controller).
    pub host_port: Option<u16>,
}

impl Node {
    /// The name used in histories and reports: `broker-2`, `controller-1001`.
    pub fn label(&self) -> String {
        match self.role {
            NodeRole::Controller => NodeKind::Controller.label(self.id),
            _ => NodeKind::Broker.label(self.id),
        }
    }

    pub fn is_broker(&self) -> bool {
        self.role != NodeRole::Controller
    }
}

/// Kafka in containers the harness started: every fault ability, done through Docker.
pub struct ContainerCluster {
    pub run_id: String,
    pub network: String,
    pub image: String,
    pub nodes: Vec<Node>,
    pub docker: Docker,
    pub topology: Topology,
    security: Option<Security>,
    /// How long `start` took until every broker was ready and listed alive.
    pub boot_time: Duration,
    states: Mutex<HashMap<i32, NodeState>>,
    /// Held so testcontainers does not remove the containers early; removal is by label.
    _containers: Vec<ContainerAsync<GenericImage>>,
}

impl ContainerCluster {
    /// Start every node concurrently and wait until each broker is ready and listed alive.
    /// On failure, whatever was created for `run_id` is removed before the error returns.
    pub async fn start(docker: &Docker, spec: &ClusterSpec, run_id: &str) -> Result<ContainerCluster> {
        let began = Instant::now();
        let (image, _) = image::resolve(docker, &spec.kafka_version, spec.image.as_deref()).await?;
        let result = Self::start_nodes(docker, spec, run_id, &image, began).await;
        if result.is_err() {
            let _ = docker::remove_labelled(docker, Some(run_id)).await;
        }
        result
    }

    async fn start_nodes(
        docker: &Docker,
        spec: &ClusterSpec,
        run_id: &str,
        image: &str,
        began: Instant,
    ) -> Result<ContainerCluster> {
        if spec.brokers == 0 {
            return Err(Error::Invalid("a cluster needs at least one broker".into()));
        }
        let network = format!("kafka-chaos-{run_id}");
        docker::create_network(docker, &network, run_id).await?;
        let nodes = plan_nodes(spec, run_id)?;
        let cluster_id = cluster_id();
        // The image's own entrypoint and command, which the power-loss entrypoint hands over to.
        let handover = match &spec.lazyfs {
            Some(_) => Some(docker::image_command(docker, image).await?),
            None => None,
        };
        let requests = nodes
            .iter()
            .map(|node| container_request(image, node, &nodes, spec, &network, run_id, &cluster_id, handover.as_deref()));
        let started = join_all(requests.map(|r| r.start())).await;
        let mut containers = Vec::with_capacity(started.len());
        for (node, result) in nodes.iter().zip(started) {
            match result {
                Ok(container) => containers.push(container),
                Err(e) => return Err(start_failure(docker, node, &e.to_string()).await),
            }
        }
        // Our own wait for the ready line, not testcontainers': while we hold the containers,
        // a broker that failed is still there to tell why (its stderr included).
        let ready = join_all(nodes.iter().map(|node| docker::wait_for_log(docker, &node.container, READY_LINE, None, STARTUP_TIMEOUT))).await;
        for (node, result) in nodes.iter().zip(ready) {
            if let Err(why) = result {
                return Err(start_failure(docker, node, &why).await);
            }
        }
        let bootstrap = bootstrap_of(&nodes);
        let security = spec.security();
        let topology = Topology::connect(&bootstrap, security.as_ref())?;
        let broker_ids: Vec<i32> = nodes.iter().filter(|n| n.is_broker()).map(|n| n.id).collect();
        topology::wait_until(Duration::from_secs(60), || async {
            topology.live_brokers().await.map(|live| live == broker_ids).unwrap_or(false)
        })
        .await
        .map_err(|_| Error::infra("the brokers started but did not all register with the controller"))?;
        let states = nodes.iter().map(|n| (n.id, NodeState::Running)).collect();
        Ok(ContainerCluster {
            run_id: run_id.to_string(),
            network,
            image: image.to_string(),
            nodes,
            docker: docker.clone(),
            topology,
            security,
            boot_time: began.elapsed(),
            states: Mutex::new(states),
            _containers: containers,
        })
    }

    pub fn brokers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.is_broker())
    }

    pub fn broker_ids(&self) -> Vec<i32> {
        self.brokers().map(|n| n.id).collect()
    }

    pub fn node(&self, id: i32) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::Invalid(format!("no node with id {id} in this cluster")))
    }

    pub fn state(&self, id: i32) -> NodeState {
        self.states.lock().unwrap().get(&id).copied().unwrap_or(NodeState::Running)
    }

    fn set_state(&self, id: i32, state: NodeState) {
        self.states.lock().unwrap().insert(id, state);
    }

    /// Nodes a fault left in a state other than running.
    pub fn faulted_states(&self) -> Vec<(i32, NodeState)> {
        let states = self.states.lock().unwrap();
        let mut v: Vec<_> = states.iter().filter(|(_, s)| **s != NodeState::Running).map(|(i, s)| (*i, *s)).collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }

    /// A topology client that knows only the brokers no fault holds: a paused broker keeps its
    /// connections open and would swallow metadata requests until they time out.
    pub fn running_topology(&self) -> Result<Topology> {
        let running: Vec<Node> = self
            .brokers()
            .filter(|n| self.state(n.id) == NodeState::Running)
            .cloned()
            .collect();
        if running.is_empty() {
            return Err(Error::infra("no broker is running"));
        }
        Topology::connect(&bootstrap_of(&running), self.security.as_ref())
    }

    /// The active KRaft controller, as the metadata quorum reports it (`LeaderId`). Asked through a
    /// running broker's own tool, because the controller id clients see in metadata is not the
    /// quorum leader under KRaft.
    pub async fn active_controller(&self) -> Result<i32> {
        let mut last_error = String::from("no running node to ask");
        for node in self.nodes.iter().filter(|n| n.is_broker() && self.state(n.id) == NodeState::Running) {
            let server = format!("{}:{INTERNAL_PORT}", node.container);
            let cmd = ["/opt/kafka/bin/kafka-metadata-quorum.sh", "--bootstrap-server", &server, "describe", "--status"];
            match docker::exec(&self.docker, &node.container, &cmd).await {
                Ok((0, out)) => {
                    if let Some(id) = parse_quorum_leader(&out) {
                        return Ok(id);
                    }
                    last_error = format!("no LeaderId in: {}", out.trim());
                }
                Ok((code, out)) => last_error = format!("exit {code}: {}", out.trim()),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(Error::infra(format!("cannot find the active controller: {last_error}")))
    }

    /// Whether the next cell may use this cluster: no fault in force, every broker listed alive,
    /// and every partition of every topic with its full ISR. Err says what is wrong.
    pub async fn check_health(&self) -> std::result::Result<(), String> {
        let faulted = self.faulted_states();
        if !faulted.is_empty() {
            let list: Vec<String> = faulted.iter().map(|(id, state)| format!("node {id} {state:?}")).collect();
            return Err(format!("faults still in force: {}", list.join(", ")));
        }
        let topology = self.running_topology().map_err(|e| e.to_string())?;
        topology.wait_healthy(&self.broker_ids(), HEALTH_TIMEOUT).await
    }

    /// Remove every container and the network of this run.
    pub async fn teardown(&self) -> Result<docker::Removed> {
        docker::remove_labelled(&self.docker, Some(&self.run_id)).await
    }
}

/// Why a node did not start, with its exit code and the last lines it wrote to stdout and stderr.
async fn start_failure(docker: &Docker, node: &Node, why: &str) -> Error {
    let exit = match docker.inspect_container(&node.container, None).await {
        Ok(info) => match info.state {
            Some(state) if state.running == Some(false) => format!(" (exited with code {})", state.exit_code.unwrap_or(-1)),
            _ => String::new(),
        },
        Err(_) => String::new(),
    };
    let tail = docker::log_tail(docker, &node.container, 30).await;
    let tail = if tail.trim().is_empty() { String::new() } else { format!("\nits last log lines:\n{}", tail.trim_end()) };
    Error::infra(format!("{} did not start{exit}: {why}{tail}", node.label()))
}

/// `LeaderId:               2` in `kafka-metadata-quorum describe --status` output.
pub(crate) fn parse_quorum_leader(output: &str) -> Option<i32> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("LeaderId:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::node_env::{base64url, node_env};

    #[test]
    fn default_version_matches_the_image_recipe() {
        let recipe = include_str!("../../docker/KAFKA_VERSION");
        assert_eq!(DEFAULT_KAFKA_VERSION, recipe.trim(), "docker/KAFKA_VERSION and DEFAULT_KAFKA_VERSION differ");
    }

    #[test]
    fn env_names_invert_the_image_mapping() {
        assert_eq!(property_env_name("min.insync.replicas"), "KAFKA_MIN_INSYNC_REPLICAS");
        assert_eq!(property_env_name("a_b-c.d"), "KAFKA_A__B___C_D");
    }

    #[test]
    fn cluster_ids_are_22_base64url_chars_never_starting_with_a_dash() {
        // One in 64 random ids starts with '-': 10,000 draws all but surely meet ~150 of them.
        for _ in 0..10_000 {
            let id = cluster_id();
            assert_eq!(id.len(), 22);
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            assert!(!id.starts_with('-'), "{id}");
        }
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn parses_quorum_leader() {
        let out = "ClusterId:              abc\nLeaderId:               2\nLeaderEpoch:            5\n";
        assert_eq!(parse_quorum_leader(out), Some(2));
        assert_eq!(parse_quorum_leader("nothing"), None);
    }

    #[test]
    fn only_a_power_loss_cluster_gets_fuse_and_never_privileges() {
        let host_config = |r: &testcontainers::ContainerRequest<GenericImage>| {
            let mut host = testcontainers::bollard::models::HostConfig::default();
            if let Some(modify) = r.host_config_modifier() {
                modify(&mut host);
            }
            host
        };
        let plain = ClusterSpec::new(3);
        let power = ClusterSpec { lazyfs: Some("/bin/lazyfs".into()), ..ClusterSpec::new(3) };
        let handover = vec!["/opt/kafka/entrypoint.sh".to_string()];
        for (spec, forgetful) in [(&plain, false), (&power, true)] {
            let nodes = plan_nodes(spec, "r1").unwrap();
            let r = container_request("kafka-chaos/kafka:4.4.0", &nodes[0], &nodes, spec, "net", "r1", "cid", Some(&handover));
            assert!(!r.privileged());
            let host = host_config(&r);
            let devices: Vec<_> = host.devices.iter().flatten().filter_map(|d| d.path_on_host.clone()).collect();
            match forgetful {
                true => {
                    assert_eq!(r.cap_add(), Some(&vec!["SYS_ADMIN".to_string()]));
                    assert_eq!(devices, ["/dev/fuse"]);
                    assert_eq!(r.entrypoint(), Some("/bin/sh"));
                    let cmd: Vec<String> = r.cmd().map(|c| c.to_string()).collect();
                    assert_eq!(cmd.last().map(String::as_str), Some("/opt/kafka/entrypoint.sh"), "hands over to the image's own");
                    assert!(r.mounts().any(|m| m.target() == Some(power::LAZYFS_IN_CONTAINER)));
                }
                false => {
                    assert_eq!(r.cap_add(), None);
                    assert!(devices.is_empty());
                    assert_eq!(r.entrypoint(), None);
                    assert_eq!(r.mounts().count(), 0);
                }
            }
            // Either way, the broker port is bound to this machine only.
            assert!(host.port_bindings.iter().flat_map(|m| m.values()).flatten().flatten().all(|b| b.host_ip.as_deref() == Some("127.0.0.1")));
        }
    }

    #[test]
    fn combined_nodes_are_voters_and_advertise_localhost() {
        let spec = ClusterSpec::new(3);
        let nodes = plan_nodes(&spec, "r1").unwrap();
        let env: HashMap<_, _> = node_env(&nodes[1], &nodes, &spec, "cid").into_iter().collect();
        assert_eq!(env["KAFKA_NODE_ID"], "2");
        assert_eq!(env["KAFKA_PROCESS_ROLES"], "broker,controller");
        assert!(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].starts_with("1@kafka-chaos-r1-broker-1:9093,2@"));
        assert!(env["KAFKA_ADVERTISED_LISTENERS"].contains("EXTERNAL://127.0.0.1:"));
        assert_eq!(env["CLUSTER_ID"], "cid");
    }

    #[test]
    fn dedicated_controllers_are_the_only_voters() {
        let spec = ClusterSpec { controllers: 1, ..ClusterSpec::new(2) };
        let nodes = plan_nodes(&spec, "r1").unwrap();
        assert_eq!(nodes.len(), 3);
        let env: HashMap<_, _> = node_env(&nodes[0], &nodes, &spec, "cid").into_iter().collect();
        assert_eq!(env["KAFKA_PROCESS_ROLES"], "broker");
        assert_eq!(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "1001@kafka-chaos-r1-controller-1001:9093");
        assert!(!env["KAFKA_LISTENERS"].contains("CONTROLLER"));
    }
}
