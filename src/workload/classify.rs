//! One place that decides what an error delivery report means for a message: it was definitely
//! not written (`failed`), or it may have been (`unknown`).
//!
//! librdkafka's per-message persistence status wins whenever it is there: it knows whether any
//! attempt of the message reached a broker, which the final error code alone does not say (a
//! message whose first attempt timed out in flight and whose retry got NOT_LEADER may be in the
//! log). Only without a status does the error code decide, conservatively: `failed` for codes that
//! mean the message never left the client or the broker rejected the batch before appending it,
//! `unknown` for everything else.

use crate::history::{PersistStatus, SendOutcome};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// `Failed` or `Unknown`; never `Acked` (that is a report without an error).
    pub outcome: SendOutcome,
    /// For the event's `error` field: the code, its description, and why this outcome.
    pub reason: String,
}

/// librdkafka's persistence status of a message in a delivery report.
pub fn persist_status(message: &BorrowedMessage<'_>) -> PersistStatus {
    use rdkafka::bindings::rd_kafka_msg_status_t as S;
    // SAFETY: the pointer is the live message of this delivery report; the call only reads it.
    match unsafe { rdkafka::bindings::rd_kafka_message_status(message.ptr()) } {
        S::RD_KAFKA_MSG_STATUS_NOT_PERSISTED => PersistStatus::NotPersisted,
        S::RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED => PersistStatus::PossiblyPersisted,
        S::RD_KAFKA_MSG_STATUS_PERSISTED => PersistStatus::Persisted,
    }
}

/// The error code inside a client error, if it carries one.
pub fn error_code(error: &KafkaError) -> Option<RDKafkaErrorCode> {
    error.rdkafka_error_code()
}

/// Classify a client error given the message's persistence status (None when unavailable).
pub fn classify(error: &KafkaError, status: Option<PersistStatus>) -> Classification {
    let what = match error_code(error) {
        Some(code) => code.to_string(),
        None => error.to_string(),
    };
    let (outcome, why) = match status {
        Some(PersistStatus::NotPersisted) => (SendOutcome::Failed, "not persisted"),
        Some(PersistStatus::PossiblyPersisted) => (SendOutcome::Unknown, "possibly persisted"),
        // An error for a message the broker did append (e.g. a later fatal idempotence error):
        // the application was told it failed, yet it is in the log.
        Some(PersistStatus::Persisted) => (SendOutcome::Unknown, "persisted despite the error"),
        None => match error_code(error) {
            Some(code) if never_appended(code) => (SendOutcome::Failed, "no status; the code means never appended"),
            _ => (SendOutcome::Unknown, "no status; the code does not rule out a write"),
        },
    };
    Classification { outcome, reason: format!("{what}; {why}") }
}

/// Codes after which no byte of the message can be in the log: it never left the client, or the
/// broker rejected the whole batch before appending. Used only when the status is missing.
pub fn never_appended(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        // Local: refused or dropped before any request carried it.
        C::PurgeQueue
            | C::QueueFull
            | C::InvalidArgument
            | C::UnknownPartition
            | C::UnknownTopic
            | C::BadMessage
            | C::KeySerialization
            | C::ValueSerialization
            // Broker: the request was validated and refused before append.
            | C::MessageSizeTooLarge
            | C::InvalidMessageSize
            | C::MessageBatchTooLarge
            | C::InvalidRequiredAcks
            | C::InvalidTopic
            | C::InvalidRecord
            | C::InvalidTimestamp
            | C::UnsupportedForMessageFormat
            | C::UnsupportedCompressionType
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::PolicyViolation
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use RDKafkaErrorCode as C;

    fn produce(code: C) -> KafkaError {
        KafkaError::MessageProduction(code)
    }

    #[test]
    fn status_wins_over_the_code() {
        let c = classify(&produce(C::MessageSizeTooLarge), Some(PersistStatus::PossiblyPersisted));
        assert_eq!(c.outcome, SendOutcome::Unknown);
        let c = classify(&produce(C::MessageTimedOut), Some(PersistStatus::NotPersisted));
        assert_eq!(c.outcome, SendOutcome::Failed);
        assert!(c.reason.starts_with("MessageTimedOut (Local: Message timed out)"), "{}", c.reason);
        assert!(c.reason.ends_with("not persisted"), "{}", c.reason);
        let c = classify(&produce(C::OutOfOrderSequenceNumber), Some(PersistStatus::Persisted));
        assert_eq!(c.outcome, SendOutcome::Unknown);
    }

    #[test]
    fn without_status_only_rejections_fail() {
        for code in [C::PurgeQueue, C::MessageSizeTooLarge, C::UnknownPartition, C::TopicAuthorizationFailed] {
            assert_eq!(classify(&produce(code), None).outcome, SendOutcome::Failed, "{code:?}");
        }
        for code in [
            C::MessageTimedOut,
            C::PurgeInflight,
            C::RequestTimedOut,
            C::NotLeaderForPartition,
            C::NotEnoughReplicas,
            C::NotEnoughReplicasAfterAppend,
            C::BrokerTransportFailure,
            C::OutOfOrderSequenceNumber,
        ] {
            assert_eq!(classify(&produce(code), None).outcome, SendOutcome::Unknown, "{code:?}");
        }
        assert_eq!(classify(&KafkaError::Canceled, None).outcome, SendOutcome::Unknown);
    }
}
