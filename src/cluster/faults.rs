//! Fault operations on one node, in opposite pairs: kill/restart, stop/restart, pause/resume,
//! isolate/heal. Each returns only once its effect is observable, with the time that took.

use crate::model::FaultActionKind;
use super::{ContainerCluster, NodeState, Observed};
use crate::cluster::topology::wait_until;
use crate::error::{Error, Result};
use std::time::{Duration, Instant};
use testcontainers::bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest};
use testcontainers::bollard::query_parameters::{KillContainerOptions, StopContainerOptions};

/// A controlled shutdown moves leadership away first; give it the broker's own default budget.
const STOP_GRACE_SECONDS: i32 = 30;
/// Catching up after a restart can take a while on two cores with a full log.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(120);

impl ContainerCluster {
    /// SIGKILL, no grace. Observable: the container is no longer running.
    pub async fn kill(&self, id: i32) -> Result<Duration> {
        let node = self.node(id)?;
        let began = Instant::now();
        let options = KillContainerOptions { signal: "SIGKILL".into() };
        self.docker
            .kill_container(&node.container, Some(options))
            .await
            .map_err(|e| self.op_error("kill", id, e))?;
        self.wait_container(id, "exit", |running, _| !running).await?;
        self.set_state(id, NodeState::Faulted(FaultActionKind::Kill));
        Ok(began.elapsed())
    }

    /// SIGTERM: a controlled shutdown (SIGKILL after the grace period, as `docker stop` does).
    /// Observable: the container has exited.
    pub async fn stop(&self, id: i32) -> Result<Duration> {
        let node = self.node(id)?;
        let began = Instant::now();
        let options = StopContainerOptions { t: Some(STOP_GRACE_SECONDS), signal: None };
        self.docker
            .stop_container(&node.container, Some(options))
            .await
            .map_err(|e| self.op_error("stop", id, e))?;
        self.wait_container(id, "exit", |running, _| !running).await?;
        self.set_state(id, NodeState::Faulted(FaultActionKind::Stop));
        Ok(began.elapsed())
    }

    /// Start a killed or stopped node again. Observable: the new incarnation logged its ready
    /// line (a dead broker stays registered, alive and in the ISR until the controller fences
    /// it, so the metadata alone cannot tell it from a restarted one), then it is listed alive
    /// and is back in the ISR of every partition it replicates.
    pub async fn restart(&self, id: i32) -> Result<Observed> {
        let node = self.node(id)?;
        let began = Instant::now();
        self.docker
            .start_container(&node.container, None)
            .await
            .map_err(|e| self.op_error("restart", id, e))?;
        self.set_state(id, NodeState::Running);
        let started = super::docker::started_at(&self.docker, &node.container).await?;
        let logged = super::docker::wait_for_log(&self.docker, &node.container, super::READY_LINE, Some(started), REJOIN_TIMEOUT)
            .await
            .map_err(|e| Error::infra(format!("{} was started again but its new incarnation was not ready: {e}", node.label())))?;
        let ready = began.elapsed();
        self.wait_in_every_isr(id, "restarted").await?;
        let how = format!("{} (its log: {logged})", self.rejoin_how(id, Some(ready)));
        Ok(Observed { took: began.elapsed(), how, ..Observed::default() })
    }

    /// Freeze every process of the node: connections stay open, nothing answers. The cgroup
    /// freezer (`docker pause`) can fail to freeze a busy JVM in time ("unable to freeze"); after
    /// a few tries the broker is stopped with SIGSTOP instead, which cannot fail.
    pub async fn pause(&self, id: i32) -> Result<Duration> {
        let node = self.node(id)?;
        let began = Instant::now();
        let mut last_error = String::new();
        for _ in 0..3 {
            match self.docker.pause_container(&node.container).await {
                Ok(()) => {
                    self.wait_container(id, "pause", |_, paused| paused).await?;
                    self.set_state(id, NodeState::Faulted(FaultActionKind::Pause));
                    return Ok(began.elapsed());
                }
                Err(e) => {
                    last_error = e.to_string();
                    // A half-frozen cgroup must be thawed before the next try.
                    let _ = self.docker.unpause_container(&node.container).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        tracing::warn!(node = %node.label(), error = %last_error, "the freezer failed; pausing with SIGSTOP");
        self.signal(id, "SIGSTOP").await.map_err(|e| self.op_error("pause", id, e))?;
        self.wait_process_state(id, true).await?;
        self.set_state(id, NodeState::SigStopped);
        Ok(began.elapsed())
    }

    /// Thaw a paused node. Observable: it runs again, and a broker is listed alive and in the
    /// ISR of every partition it replicates (a pause longer than the broker session fences it).
    pub async fn resume(&self, id: i32) -> Result<Observed> {
        let node = self.node(id)?;
        let began = Instant::now();
        if self.state(id) == NodeState::SigStopped {
            self.signal(id, "SIGCONT").await.map_err(|e| self.op_error("resume", id, e))?;
            self.wait_process_state(id, false).await?;
        } else {
            self.docker.unpause_container(&node.container).await.map_err(|e| self.op_error("resume", id, e))?;
            self.wait_container(id, "resume", |running, paused| running && !paused).await?;
        }
        self.set_state(id, NodeState::Running);
        self.wait_in_every_isr(id, "resumed").await?;
        Ok(Observed { took: began.elapsed(), how: self.rejoin_how(id, None), ..Observed::default() })
    }

    async fn signal(&self, id: i32, signal: &str) -> std::result::Result<(), testcontainers::bollard::errors::Error> {
        let node = self.node(id).expect("checked by the caller");
        self.docker.kill_container(&node.container, Some(KillContainerOptions { signal: signal.into() })).await
    }

    /// Wait until the broker process (PID 1 of the container) is stopped by a signal, or not.
    async fn wait_process_state(&self, id: i32, stopped: bool) -> Result<()> {
        let node = self.node(id)?;
        let docker = &self.docker;
        wait_until(Duration::from_secs(10), || async {
            // Field 3 of /proc/1/stat is the state; T means stopped by a signal.
            match super::docker::exec(docker, &node.container, &["cat", "/proc/1/stat"]).await {
                Ok((0, stat)) => {
                    let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
                    (state == Some("T")) == stopped
                }
                _ => false,
            }
        })
        .await
        .map_err(|_| Error::infra(format!("{}: SIGSTOP/SIGCONT not observed within 10 s", node.label())))
    }

    /// Cut the node off from its peers and from clients: disconnected from the run's network, it
    /// has no route to anyone and its published port leads nowhere. Observable: the container has
    /// no endpoint on the network.
    pub async fn isolate(&self, id: i32) -> Result<Duration> {
        let node = self.node(id)?;
        let began = Instant::now();
        let request = NetworkDisconnectRequest { container: node.container.clone(), force: Some(true) };
        self.docker
            .disconnect_network(&self.network, request)
            .await
            .map_err(|e| self.op_error("isolate", id, e))?;
        self.wait_attached(id, false).await?;
        self.set_state(id, NodeState::Faulted(FaultActionKind::Isolate));
        Ok(began.elapsed())
    }

    /// Reconnect an isolated node. Observable: attached again, and a broker is listed alive and
    /// in the ISR of every partition it replicates.
    pub async fn heal(&self, id: i32) -> Result<Observed> {
        let node = self.node(id)?;
        let began = Instant::now();
        let request = NetworkConnectRequest {
            container: node.container.clone(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(vec![node.container.clone()]),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(&self.network, request)
            .await
            .map_err(|e| self.op_error("heal", id, e))?;
        self.wait_attached(id, true).await?;
        self.set_state(id, NodeState::Running);
        self.wait_in_every_isr(id, "reconnected").await?;
        Ok(Observed { took: began.elapsed(), how: self.rejoin_how(id, None), ..Observed::default() })
    }

    /// Wait until a broker that was `done` (restarted, resumed, reconnected) is alive and in the
    /// ISR of every partition it replicates; a dedicated controller needs only to run.
    async fn wait_in_every_isr(&self, id: i32, done: &str) -> Result<()> {
        let node = self.node(id)?;
        if !node.is_broker() {
            return self.wait_container(id, "start", |running, paused| running && !paused).await;
        }
        self.topology.wait_rejoined(id, REJOIN_TIMEOUT).await.map_err(|w| {
            Error::infra(format!("{} was {done} but did not rejoin the ISR of its partitions within {} s", node.label(), w.as_secs()))
        })
    }

    /// How a heal was observed, for the history.
    fn rejoin_how(&self, id: i32, ready: Option<Duration>) -> String {
        let is_broker = self.node(id).is_ok_and(|n| n.is_broker());
        match (ready, is_broker) {
            (Some(ready), true) => format!("ready again after {} ms, then alive and in every ISR", ready.as_millis()),
            (Some(ready), false) => format!("ready again after {} ms", ready.as_millis()),
            (None, true) => "alive and in every ISR".into(),
            (None, false) => String::new(),
        }
    }

    /// Poll the container's state until `done(running, paused)` holds (10 s at most).
    pub(super) async fn wait_container(&self, id: i32, what: &str, done: impl Fn(bool, bool) -> bool) -> Result<()> {
        let node = self.node(id)?;
        let docker = &self.docker;
        wait_until(Duration::from_secs(10), || async {
            match docker.inspect_container(&node.container, None).await {
                Ok(info) => {
                    let state = info.state.unwrap_or_default();
                    done(state.running.unwrap_or(false), state.paused.unwrap_or(false))
                }
                Err(_) => false,
            }
        })
        .await
        .map_err(|_| Error::infra(format!("{}: the {what} was not observed within 10 s", node.label())))
    }

    async fn wait_attached(&self, id: i32, attached: bool) -> Result<()> {
        let node = self.node(id)?;
        let (docker, network) = (&self.docker, &self.network);
        wait_until(Duration::from_secs(10), || async {
            match docker.inspect_container(&node.container, None).await {
                Ok(info) => {
                    let networks = info.network_settings.and_then(|n| n.networks).unwrap_or_default();
                    networks.contains_key(network) == attached
                }
                Err(_) => false,
            }
        })
        .await
        .map_err(|_| Error::infra(format!("{}: network change not observed within 10 s", node.label())))
    }

    pub(super) fn op_error(&self, op: &str, id: i32, e: impl std::fmt::Display) -> Error {
        let name = self.node(id).map(|n| n.label()).unwrap_or_else(|_| format!("node {id}"));
        Error::infra(format!("cannot {op} {name}: {e}"))
    }
}
