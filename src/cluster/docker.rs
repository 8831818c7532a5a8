//! The Docker engine as the cluster sees it: connection, labels, per-run networks, clean-up by
//! label, and exec. Everything the harness creates carries `kafka-chaos.run=<run id>`, because the
//! Rust testcontainers crate has no reaper: a killed harness is cleaned up by label.

use crate::error::{Error, Result};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use testcontainers::bollard::{
    self,
    exec::{CreateExecOptions, StartExecResults},
    models::NetworkCreateRequest,
    query_parameters::{ListContainersOptions, ListNetworksOptions, LogsOptionsBuilder, RemoveContainerOptions},
    Docker,
};

/// The label on every container and network the harness creates; its value is the run id.
pub const RUN_LABEL: &str = "kafka-chaos.run";

pub const ENGINE_HINT: &str = "start one with `make engine` (runs scripts/ensure-docker.sh), \
or `sudo systemctl start docker`, then check with `kafka-chaos doctor`";

/// Connect to the engine and make sure it answers.
pub async fn connect() -> Result<Docker> {
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| Error::infra(format!("cannot reach a Docker engine: {e}; {ENGINE_HINT}")))?;
    docker
        .ping()
        .await
        .map_err(|e| Error::infra(format!("the Docker engine does not answer: {e}; {ENGINE_HINT}")))?;
    Ok(docker)
}

/// A short unique run id: time-based, plus the process id so two runs started in the same
/// millisecond on one machine still differ.
pub fn new_run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{:x}{:04x}", ms & 0xff_ffff_ffff, std::process::id() & 0xffff)
}

pub fn labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([(RUN_LABEL.to_string(), run_id.to_string())])
}

/// Create the run's bridge network, labelled so `clean` finds it.
pub async fn create_network(docker: &Docker, name: &str, run_id: &str) -> Result<()> {
    docker
        .create_network(NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels(run_id)),
            ..Default::default()
        })
        .await
        .map_err(|e| Error::infra(format!("cannot create network {name}: {e}")))?;
    Ok(())
}

fn label_filter(run_id: Option<&str>) -> HashMap<String, Vec<String>> {
    let label = match run_id {
        Some(id) => format!("{RUN_LABEL}={id}"),
        None => RUN_LABEL.to_string(),
    };
    HashMap::from([("label".to_string(), vec![label])])
}

/// What `remove_labelled` removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

/// Remove every container (forcibly) and then every network labelled with the run id, or with any
/// run id when `run_id` is None. Containers first: a network with endpoints cannot be removed.
pub async fn remove_labelled(docker: &Docker, run_id: Option<&str>) -> Result<Removed> {
    let mut removed = Removed::default();
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(label_filter(run_id)),
            ..Default::default()
        }))
        .await
        .map_err(|e| Error::infra(format!("cannot list containers: {e}")))?;
    let removals = containers.iter().filter_map(|c| c.id.clone()).map(|id| {
        let docker = docker.clone();
        async move {
            let opts = RemoveContainerOptions { force: true, v: true, ..Default::default() };
            match docker.remove_container(&id, Some(opts)).await {
                Ok(()) => Ok(id),
                // Already gone (e.g. removed by testcontainers' drop): that is what we wanted.
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                    Ok(id)
                }
                Err(e) => Err(Error::infra(format!("cannot remove container {id}: {e}"))),
            }
        }
    });
    for result in futures::future::join_all(removals).await {
        removed.containers.push(result?);
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions { filters: Some(label_filter(run_id)) }))
        .await
        .map_err(|e| Error::infra(format!("cannot list networks: {e}")))?;
    for network in networks {
        let Some(name) = network.name else { continue };
        match docker.remove_network(&name).await {
            Ok(()) => removed.networks.push(name),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(Error::infra(format!("cannot remove network {name}: {e}"))),
        }
    }
    Ok(removed)
}

/// Run a command inside a container and return its exit code and combined output.
pub async fn exec(docker: &Docker, container: &str, cmd: &[&str]) -> Result<(i64, String)> {
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::infra(format!("cannot exec in {container}: {e}")))?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&created.id, None)
        .await
        .map_err(|e| Error::infra(format!("cannot exec in {container}: {e}")))?
    {
        while let Some(Ok(chunk)) = output.next().await {
            text.push_str(&chunk.to_string());
        }
    }
    let code = docker
        .inspect_exec(&created.id)
        .await
        .ok()
        .and_then(|i| i.exit_code)
        .unwrap_or(-1);
    Ok((code, text))
}

/// The last `lines` lines a container wrote (stdout and stderr), for an error message; empty if
/// the engine has none (e.g. the container was never created).
pub async fn log_tail(docker: &Docker, container: &str, lines: usize) -> String {
    let options = LogsOptionsBuilder::new().stdout(true).stderr(true).tail(&lines.to_string()).build();
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}

/// Follow a container's stdout until `line` appears, written at `since` or later when given
/// (a restarted container's log still holds its earlier incarnation's lines). `since` is the
/// engine's own clock, as it reports `State.StartedAt`. Ok(the line as logged, without the
/// engine's timestamp); Err: the container ended (the stream closed) or `timeout` passed first.
pub async fn wait_for_log(
    docker: &Docker,
    container: &str,
    line: &str,
    since: Option<SystemTime>,
    timeout: std::time::Duration,
) -> std::result::Result<String, String> {
    let mut options = LogsOptionsBuilder::new().stdout(true).stderr(false).follow(true);
    if let Some(since) = since {
        options = options.timestamps(true).since(whole_seconds(since));
    }
    let mut stream = docker.logs(container, Some(options.build()));
    let scan = async {
        let mut partial = String::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    partial.push_str(&chunk.to_string());
                    while let Some(end) = partial.find('\n') {
                        let complete: String = partial.drain(..=end).collect();
                        if is_ready_line(&complete, line, since) {
                            return Ok(logged_text(&complete, since));
                        }
                    }
                    // A line with no end yet is kept whole, up to a bound no log line reaches.
                    if partial.len() > 1 << 20 {
                        partial.clear();
                    }
                }
                Err(e) => return Err(format!("cannot follow its log: {e}")),
            }
        }
        match is_ready_line(&partial, line, since) {
            true => Ok(logged_text(&partial, since)),
            false => Err(format!("it stopped before logging \"{line}\"")),
        }
    };
    match tokio::time::timeout(timeout, scan).await {
        Ok(result) => result,
        Err(_) => Err(format!("no \"{line}\" within {} s", timeout.as_secs())),
    }
}

/// A logged line without the engine's timestamp (present when `since` was given).
fn logged_text(logged: &str, since: Option<SystemTime>) -> String {
    let text = match since {
        Some(_) => logged.split_once(' ').map_or(logged, |(_, text)| text),
        None => logged,
    };
    text.trim().to_string()
}

/// When the container first logged `wanted` at `since` or later (the engine's clock), if it did.
pub async fn logged_at(docker: &Docker, container: &str, wanted: &str, since: SystemTime) -> Option<SystemTime> {
    let options = LogsOptionsBuilder::new().stdout(true).stderr(false).timestamps(true).since(whole_seconds(since)).build();
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text.lines().filter(|l| is_ready_line(l, wanted, Some(since))).find_map(|l| engine_time(l.split_once(' ')?.0))
}

/// `since` for the engine's log query: whole seconds since the epoch.
fn whole_seconds(since: SystemTime) -> i32 {
    let seconds = since.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    seconds.min(i32::MAX as u64) as i32
}

/// The engine's RFC 3339 time (`2026-12-03T14:00:10.5Z`).
fn engine_time(stamp: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(stamp.trim_end_matches('Z')).ok()
}

/// Whether one log line (prefixed by the engine's RFC 3339 timestamp when `since` is given)
/// holds `wanted`, written at `since` or later.
fn is_ready_line(logged: &str, wanted: &str, since: Option<SystemTime>) -> bool {
    let Some(since) = since else { return logged.contains(wanted) };
    let Some((stamp, text)) = logged.split_once(' ') else { return false };
    engine_time(stamp).is_some_and(|at| at >= since && text.contains(wanted))
}

/// When the container's current incarnation started, by the engine's clock.
pub async fn started_at(docker: &Docker, container: &str) -> Result<SystemTime> {
    let info = docker
        .inspect_container(container, None)
        .await
        .map_err(|e| Error::infra(format!("cannot inspect {container}: {e}")))?;
    let stamp = info.state.and_then(|s| s.started_at).unwrap_or_default();
    engine_time(&stamp).ok_or_else(|| Error::infra(format!("{container}: the engine's start time {stamp:?} is not RFC 3339")))
}

/// A free TCP port on 127.0.0.1, chosen by the kernel. The listener is closed before the port is
/// used, so there is a small window for another process to take it; container start then fails
/// loudly rather than silently using the wrong port.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::io("cannot find a free port on 127.0.0.1", e))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| Error::io("cannot read a port", e))
}

/// What a container of `image` runs when nothing overrides it: its entrypoint, then its command.
pub async fn image_command(docker: &Docker, image: &str) -> Result<Vec<String>> {
    let info = docker.inspect_image(image).await.map_err(|e| Error::infra(format!("cannot inspect {image}: {e}")))?;
    let config = info.config.unwrap_or_default();
    let command: Vec<String> = config.entrypoint.unwrap_or_default().into_iter().chain(config.cmd.unwrap_or_default()).collect();
    if command.is_empty() {
        return Err(Error::infra(format!("{image} has neither an entrypoint nor a command to run")));
    }
    Ok(command)
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn a_ready_line_counts_only_from_the_new_incarnation() {
        let since = humantime::parse_rfc3339_weak("2026-12-03T14:00:10.500000000").unwrap();
        let old = "2026-12-03T14:00:10.400000000Z [KafkaRaftServer nodeId=2] Kafka Server started\n";
        let new = "2026-12-03T14:00:14.100000000Z [KafkaRaftServer nodeId=2] Kafka Server started\n";
        assert!(!is_ready_line(old, "Kafka Server started", Some(since)));
        assert!(is_ready_line(new, "Kafka Server started", Some(since)));
        assert!(!is_ready_line("2026-12-03T14:00:14Z starting", "Kafka Server started", Some(since)));
        assert!(is_ready_line("Kafka Server started", "Kafka Server started", None));
    }
}
