//! `kafka-chaos consumer-worker --config <json>`: one consumer of the group, started by the runner
//! as a child process (see `workload::consumer_process`); the body is `workload::consumer`.
//! SIGTERM or SIGINT stops it gracefully; SIGKILL is the crash the runner injects.

use crate::cli::ConsumerWorkerArgs;
use crate::error::{Error, Result};
use crate::workload::consumer::{run_worker, ConsumerConfig, StdoutSink};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

pub async fn run(args: ConsumerWorkerArgs) -> Result<i32> {
    let config: ConsumerConfig = serde_json::from_str(&args.config).map_err(|e| {
        Error::Invalid(format!(
            "consumer-worker: invalid --config JSON: {e}; this command is started by `kafka-chaos run`, not by hand"
        ))
    })?;
    // Register the handlers before the worker announces itself, so an early SIGTERM is a
    // graceful stop rather than the default termination.
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::io("cannot handle SIGTERM", e))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::io("cannot handle SIGINT", e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        flag.store(true, Ordering::SeqCst);
    });
    let sink = Arc::new(StdoutSink::default());
    tokio::task::spawn_blocking(move || run_worker(config, sink, stop))
        .await
        .map_err(|e| Error::infra(format!("consumer-worker: the worker thread failed: {e}")))??;
    Ok(0)
}
