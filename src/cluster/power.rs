//! Power loss on a container broker. Its log directory sits on `kafka-chaos-lazyfs`, a FUSE
//! filesystem that passes every write through but remembers what was not fsynced; a power cut
//! freezes the broker (nothing it writes may land half-way), tells the filesystem to forget what
//! was not made durable, and kills it. The control does the same and keeps what was written, so
//! a loss that only the cut shows comes from the page cache, not from the kill.
//!
//! The filesystem binary is mounted into the container, and a small `sh` entrypoint mounts it
//! over the log directory before it hands over (`exec`) to the image's own entrypoint, so the
//! broker is PID 1 as always. Only clusters that need it get the device and the capability FUSE
//! needs (`--device /dev/fuse --cap-add SYS_ADMIN`), never `--privileged`.

use crate::model::FaultActionKind;
use super::{docker, ContainerCluster, NodeState, Observed};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use testcontainers::bollard::query_parameters::KillContainerOptions;

/// Where the binary is mounted in the container.
pub const LAZYFS_IN_CONTAINER: &str = "/opt/kafka-chaos/lazyfs";
/// The brokers' log directory (`log.dirs`), which the filesystem is mounted over.
pub const LOG_DIR: &str = "/var/lib/kafka/data";
const BACKING_DIR: &str = "/var/lib/kafka/durable";
const CONTROL_SOCKET: &str = "/tmp/kafka-chaos-lazyfs.sock";
/// Overrides where the harness looks for the filesystem binary.
pub const LAZYFS_ENV: &str = "KAFKA_CHAOS_LAZYFS";

/// The entrypoint of a broker on the filesystem that forgets: mount it, wait until it serves,
/// then become the image's own entrypoint ("$@"). A restart mounts it again over what the last
/// power cut left.
pub fn entrypoint_script() -> String {
    format!(
        r#"set -e
mkdir -p {LOG_DIR} {BACKING_DIR}
rm -f {CONTROL_SOCKET}
{LAZYFS_IN_CONTAINER} mount --backing {BACKING_DIR} --mountpoint {LOG_DIR} --control {CONTROL_SOCKET} 2>/tmp/kafka-chaos-lazyfs.log &
i=0
until grep -q ', ready' /tmp/kafka-chaos-lazyfs.log 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then echo "kafka-chaos: the log directory's filesystem did not mount:" >&2; cat /tmp/kafka-chaos-lazyfs.log >&2; exit 1; fi
  sleep 0.1
done
exec "$@""#
    )
}

/// The statically linked filesystem binary on this machine: $KAFKA_CHAOS_LAZYFS, else the
/// project's build (`make lazyfs`) next to the workers.
pub fn lazyfs_binary(workers_dir: &Path) -> Result<PathBuf> {
    let path = match std::env::var_os(LAZYFS_ENV) {
        Some(p) => PathBuf::from(p),
        None => workers_dir.join("../lazyfs/target/kafka-chaos-lazyfs"),
    };
    if path.is_file() {
        return Ok(path.canonicalize().unwrap_or(path));
    }
    Err(Error::infra(format!(
        "power-loss needs the kafka-chaos-lazyfs binary ({} is missing); build it with `make lazyfs`, or set {LAZYFS_ENV}",
        path.display()
    )))
}

/// The host's FUSE device, or why there is none.
pub fn fuse_device() -> std::result::Result<(), String> {
    match std::fs::metadata("/dev/fuse") {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("/dev/fuse: {e}; power-loss needs the kernel's FUSE (modprobe fuse)")),
    }
}

impl ContainerCluster {
    /// Cut the power of broker `id` (`discard`) or kill it the same way keeping its unsynced
    /// writes (the control). Observable: the filesystem answered and the container has exited.
    pub async fn power_loss(&self, id: i32, discard: bool) -> Result<Observed> {
        let node = self.node(id)?;
        let began = Instant::now();
        let op = if discard { "power-loss" } else { "power-loss-control" };
        let signal = |signal: &str| KillContainerOptions { signal: signal.into() };
        // Frozen first: a write in flight either landed before the cut or never happens.
        self.docker.kill_container(&node.container, Some(signal("SIGSTOP"))).await.map_err(|e| self.op_error(op, id, e))?;
        let command = if discard { "power-loss" } else { "status" };
        let asked = docker::exec(&self.docker, &node.container, &[LAZYFS_IN_CONTAINER, command, "--control", CONTROL_SOCKET]).await;
        self.docker.kill_container(&node.container, Some(signal("SIGKILL"))).await.map_err(|e| self.op_error(op, id, e))?;
        self.wait_container(id, "exit", |running, _| !running).await?;
        self.set_state(id, NodeState::Faulted(if discard { FaultActionKind::PowerLoss } else { FaultActionKind::PowerLossControl }));
        let answer = match asked {
            Ok((0, out)) => out.trim().to_string(),
            Ok((code, out)) => return Err(self.op_error(op, id, format!("the filesystem answered with exit {code}: {}", out.trim()))),
            Err(e) => return Err(self.op_error(op, id, e)),
        };
        let unsynced = unsynced_bytes(&answer).ok_or_else(|| self.op_error(op, id, format!("the filesystem answered {answer:?}")))?;
        let how = match discard {
            true => format!("power cut: {unsynced} unsynced bytes discarded {answer}"),
            false => format!("killed without the cut: 0 bytes discarded, {unsynced} unsynced bytes kept"),
        };
        Ok(Observed { took: began.elapsed(), how, discarded_bytes: discard.then_some(unsynced) })
    }
}

/// `bytes_lost` of the filesystem's answer (what it discarded, or for `status` would discard).
fn unsynced_bytes(answer: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(answer).ok()?.get("bytes_lost")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_filesystem_discarded() {
        assert_eq!(unsynced_bytes(r#"{"bytes_lost":4096,"files_truncated":2}"#), Some(4096));
        assert_eq!(unsynced_bytes("no daemon"), None);
    }

    #[test]
    fn the_entrypoint_mounts_before_it_hands_over() {
        let script = entrypoint_script();
        let mount = script.find(" mount --backing").unwrap();
        assert!(script.find("exec \"$@\"").unwrap() > mount);
        assert!(script.contains(LOG_DIR) && script.contains(CONTROL_SOCKET));
    }
}
