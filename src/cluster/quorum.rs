//! The active KRaft controller of a cluster the harness did not start, through the admin API
//! (DescribeQuorum: any broker forwards it to the active controller). librdkafka has no such
//! call, so the Java worker makes it (`--describe-quorum`); the controller id in metadata is a
//! random broker under KRaft and cannot tell.

use crate::error::{Error, Result};
use crate::model::ClientKind;
use crate::model::security::Security;
use crate::workload::worker_process::WorkerLauncher;
use serde::{Deserialize, Serialize};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The JVM's start plus the worker's own 15 s for an answer.
const TIMEOUT: Duration = Duration::from_secs(40);

#[derive(Serialize)]
struct Request<'a> {
    bootstrap_servers: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    security: Option<&'a Security>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct QuorumInfo {
    pub leader_id: i32,
    pub voters: Vec<i32>,
}

/// Ask the cluster at `bootstrap` for its quorum.
pub async fn describe(bootstrap: &str, security: Option<&Security>) -> Result<QuorumInfo> {
    let (program, mut args) = WorkerLauncher::current_exe()?.worker_command(ClientKind::Java)?;
    args.push("--describe-quorum".into());
    let mut child = tokio::process::Command::new(&program)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::io(format!("cannot start {} to describe the quorum", program.display()), e))?;
    let request = serde_json::to_string(&Request { bootstrap_servers: bootstrap, security })
        .map_err(|e| Error::infra(format!("cannot write the quorum request: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(format!("{request}\n").as_bytes()).await;
    }
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| Error::infra(format!("describing the KRaft quorum at {bootstrap} took over {} s", TIMEOUT.as_secs())))?
        .map_err(|e| Error::io("the quorum query failed", e))?;
    if !output.status.success() {
        return Err(Error::infra(format!(
            "cannot describe the KRaft quorum at {bootstrap}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

fn parse(stdout: &str) -> Result<QuorumInfo> {
    serde_json::from_str(stdout.trim()).map_err(|e| Error::infra(format!("the quorum query printed {stdout:?}: {e}")))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn reads_the_workers_answer() {
        assert_eq!(parse("{\"leader_id\":2,\"voters\":[1,2,3]}\n").unwrap(), QuorumInfo { leader_id: 2, voters: vec![1, 2, 3] });
        assert!(parse("nothing").is_err());
    }

    #[test]
    fn the_request_carries_security_only_when_there_is_some() {
        let plain = serde_json::to_string(&Request { bootstrap_servers: "a:1", security: None }).unwrap();
        assert_eq!(plain, r#"{"bootstrap_servers":"a:1"}"#);
    }
}
