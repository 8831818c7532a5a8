//! Shared by the real-cluster tests: they need a Docker engine and fail loudly without one.
#![allow(dead_code)]

use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_kafka-chaos");

/// Panic with a hint when no engine answers: a test that needs Docker never passes without it.
pub fn require_docker() {
    let ok = Command::new("docker").arg("info").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(
        ok,
        "this test needs a Docker engine and none answers: run `make engine` (scripts/ensure-docker.sh) \
         or start Docker, then `make image` for the Kafka image"
    );
}

/// Containers (running or not) labelled with this run id, or with any run id.
pub fn labelled_containers(run_id: Option<&str>) -> usize {
    labelled("ps", run_id)
}

pub fn labelled_networks(run_id: Option<&str>) -> usize {
    labelled("network", run_id)
}

fn labelled(what: &str, run_id: Option<&str>) -> usize {
    let filter = match run_id {
        Some(id) => format!("label=kafka-chaos.run={id}"),
        None => "label=kafka-chaos.run".to_string(),
    };
    let args: Vec<&str> = match what {
        "ps" => vec!["ps", "-aq", "--filter", &filter],
        _ => vec!["network", "ls", "-q", "--filter", &filter],
    };
    let out = Command::new("docker").args(&args).output().expect("docker runs");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
}
