//! `kafka-chaos worker`: the rdkafka worker of the worker protocol (`docs/worker-protocol.md`),
//! one producer or consumer of a cell, started by the runner as a child process. The config is
//! the first line of stdin; lines go to stdout. SIGTERM, SIGINT or a closed stdin stop it
//! gracefully; SIGKILL is the crash the runner injects. The bodies are `workload::producer`
//! and `workload::consumer`.

use crate::error::{Error, Result};
use crate::workload::consumer::{run_worker, ConsumerConfig, StdoutSink};
use crate::workload::producer::{run_producer_worker, ProducerConfig};
use crate::workload::protocol::{Line, Role, WorkerConfig, PROTOCOL_VERSION};
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

pub async fn run() -> Result<i32> {
    let config = read_config()?;
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
    // The rest of stdin: nothing is expected; its end means the runner is gone.
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
            flag.store(true, Ordering::SeqCst);
        })
        .map_err(|e| Error::io("cannot watch stdin", e))?;
    let sink = Arc::new(StdoutSink::default());
    match config.role {
        Role::Consumer => {
            let consumer = consumer_config(&config);
            tokio::task::spawn_blocking(move || run_worker(consumer, sink, stop))
                .await
                .map_err(|e| Error::infra(format!("worker: the consumer thread failed: {e}")))??;
        }
        Role::Producer => {
            let producer = producer_config(&config);
            let lines = sink.clone();
            tokio::task::spawn_blocking(move || run_producer_worker(producer, lines, stop))
                .await
                .map_err(|e| Error::infra(format!("worker: the producer thread failed: {e}")))??;
            use crate::workload::consumer::LineSink;
            sink.emit(&Line::Stopped { processed: None });
        }
    }
    Ok(0)
}

/// The first line of stdin; anything wrong with it is invalid input (exit 2).
fn read_config() -> Result<WorkerConfig> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("worker: cannot read the config from stdin", e))?;
    let config: WorkerConfig = serde_json::from_str(line.trim()).map_err(|e| {
        Error::Invalid(format!(
            "worker: the first line of stdin is not a worker config ({e}); this command is started by \
             `kafka-chaos run` (see docs/worker-protocol.md), not by hand"
        ))
    })?;
    if config.protocol != PROTOCOL_VERSION {
        return Err(Error::Invalid(format!(
            "worker: protocol {} is not supported; this worker speaks protocol {PROTOCOL_VERSION}",
            config.protocol
        )));
    }
    Ok(config)
}

/// librdkafka's own names for the config's common settings, then the scenario's properties.
fn producer_config(c: &WorkerConfig) -> ProducerConfig {
    let mut config = ProducerConfig::new(c.id, &c.run_id, &c.bootstrap_servers, &c.topic, c.partitions);
    config.rate = c.rate;
    config.payload_bytes = c.payload_bytes;
    config.routing = c.routing;
    config.duration = Duration::from_millis(c.duration_ms);
    config.first_seq = c.first_seq;
    config.max_messages = c.max_messages;
    config.max_in_flight = c.max_in_flight.max(1);
    config.properties = c.properties.clone();
    config.transaction = c.transaction.clone();
    if let Some(security) = &c.security {
        security.add_rdkafka_to(&mut config.properties);
    }
    if let Some(acks) = &c.acks {
        config.properties.insert("acks".into(), acks.clone());
    }
    if let Some(idempotence) = c.idempotence {
        config.properties.insert("enable.idempotence".into(), idempotence.to_string());
    }
    config
}

fn consumer_config(c: &WorkerConfig) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(c.id, &c.run_id, &c.bootstrap_servers, &c.topic, &c.group_id, c.commit);
    config.commit_every = c.commit_every;
    config.commit_interval_ms = c.commit_interval_ms;
    config.processing_ms = c.processing_ms;
    config.processing_buffer = c.processing_buffer;
    config.properties = c.properties.clone();
    if let Some(isolation) = c.isolation {
        config.properties.entry("isolation.level".into()).or_insert_with(|| isolation.as_str().into());
    }
    if let Some(security) = &c.security {
        security.add_rdkafka_to(&mut config.properties);
    }
    config
}
