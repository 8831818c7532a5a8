//! The clients under test: sequenced producers (in-process threads), consumers (child processes,
//! so a crash is a real SIGKILL), and the final reader of the log (the ground truth).
//!
//! Nothing here writes files. Every observation goes to the runner as a [`TimedEvent`] on an
//! [`EventSender`]: an `Event` whose `time_ms` is a placeholder (0.0) plus the `Instant` it
//! happened; the runner, the one writer of the history, turns it into the final event with
//! [`TimedEvent::stamped`] (milliseconds since the run's start).

pub mod classify;
pub mod commit_queue;
pub mod consumer;
pub mod consumer_state;
pub mod log_reader;
pub mod producer;
pub mod protocol;
pub mod worker_process;
pub mod record;
pub mod transaction;

#[cfg(test)]
mod tests;

use crate::error::Error;
use crate::history::Event;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use std::collections::BTreeMap;
use std::time::Instant;

/// The scenario's names for these, reused so a scenario value goes to a client unchanged.
pub use crate::model::{CommitMode, KeyRouting};
pub use consumer::ConsumerConfig;
pub use protocol::{Line as WorkerLine, Role, WorkerConfig};
pub use worker_process::{ProducerTracker, WorkerLauncher, WorkerProcess};
pub use consumer_state::ConsumerState;
pub use log_reader::{lag, read_log, GroupLag, LogReaderConfig, LogSummary, PartitionLag};
pub use producer::{delivery_timeout, ProducerConfig, ProducerHandle, ProducerProgress, NO_REPORT_AT_END, NO_REPORT_EXITED, NO_REPORT_KILLED};

/// An event without its final time: its time is 0.0 until the runner stamps it.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    /// When it happened (a delivery report arrived, a worker line was read, a SIGKILL was sent).
    pub at: Instant,
    pub event: Event,
}

impl TimedEvent {
    pub fn now(event: Event) -> TimedEvent {
        TimedEvent { at: Instant::now(), event }
    }

    /// The event with `time_ms` set to milliseconds from `start` to `at` (0.1 ms resolution, as
    /// `history::ms_since`; an `at` before `start` gives 0). `Log` events carry no time.
    pub fn stamped(self, start: Instant) -> Event {
        let ms = (self.at.saturating_duration_since(start).as_secs_f64() * 10_000.0).round() / 10.0;
        let mut event = self.event;
        if let Some(time) = event.time_ms_mut() {
            *time = ms;
        }
        event
    }
}

/// Where producers, consumer processes and the log reader hand their events. Unbounded: the
/// senders are librdkafka callbacks and worker pipes, which must never block on the runner.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<TimedEvent>;
pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<TimedEvent>;

/// Send and forget: a runner that stopped listening must not stop the clients.
pub(crate) fn emit(events: &EventSender, event: Event) {
    let _ = events.send(TimedEvent::now(event));
}

/// A librdkafka client configuration: the harness's settings first, then the scenario's
/// properties by their own names, which win.
pub(crate) fn client_config(harness: &[(&str, &str)], properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in harness {
        config.set(*k, *v);
    }
    for (k, v) in properties {
        config.set(k, v);
    }
    config
}

/// A client that librdkafka refused to create, with the property it names when it names one.
pub(crate) fn creation_error(client: &str, e: KafkaError) -> Error {
    match e {
        KafkaError::ClientConfig(_, description, key, value) => Error::Invalid(format!(
            "{client}: librdkafka rejects property \"{key}\" = \"{value}\": {description}; \
             see librdkafka's CONFIGURATION.md for the valid names and values"
        )),
        KafkaError::ClientCreation(message) => Error::Invalid(format!(
            "{client}: librdkafka cannot create the client: {message}; check the client properties"
        )),
        other => Error::infra(format!("{client}: cannot create the client: {other}")),
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamping_sets_time_relative_to_start() {
        let start = Instant::now();
        let at = start + Duration::from_micros(12_345);
        let event = Event::note("x");
        let stamped = TimedEvent { at, event }.stamped(start);
        assert_eq!(stamped.clone().time_ms_mut().copied(), Some(12.3));
        let early = TimedEvent { at: start, event: Event::note("y") };
        assert_eq!(early.stamped(start + Duration::from_secs(1)).time_ms_mut().copied(), Some(0.0));
    }

    #[test]
    fn an_invalid_property_is_named() {
        let props = BTreeMap::from([("no.such.property".to_string(), "1".to_string())]);
        let result: std::result::Result<rdkafka::producer::BaseProducer, _> =
            client_config(&[("bootstrap.servers", "127.0.0.1:1")], &props).create();
        let err = creation_error("producer 1", result.err().unwrap()).to_string();
        assert!(err.contains("no.such.property"), "{err}");
        let props = BTreeMap::from([("acks".to_string(), "most".to_string())]);
        let result: std::result::Result<rdkafka::producer::BaseProducer, _> = client_config(&[], &props).create();
        let err = creation_error("producer 1", result.err().unwrap()).to_string();
        assert!(err.contains("acks") && err.contains("most"), "{err}");
    }
}
