//! One place that decides what an error delivery report means for a message: it was definitely
//! not written (`failed`), or it may have been (`unknown`). Jepsen's rule for indeterminate
//! operations: `failed` only where the client can vouch that no attempt of the message reached
//! the log, `unknown` for everything else.
//!
//! The rules, each with a test below:
//! 1. A purge (the harness ending the run, or killing a producer) is `unknown`, whatever status
//!    librdkafka reports: a message sent once and queued again for a retry is purged from the
//!    queue as "not persisted" (seen: 1,883 of 10,000 such messages were in the log).
//! 2. librdkafka's per-message status `possibly persisted` is `unknown`; `persisted` with an
//!    error (a later fatal idempotence error) is `unknown` too: the application was told it
//!    failed, yet it is in the log.
//! 3. `not persisted` is `failed` only with an error about the message itself, the same for every
//!    attempt: the client refused it (too large, unknown partition, serialization), or the broker
//!    validated and rejected it before appending (size, record, format, compression,
//!    authorization, policy). Not a timestamp: the broker checks it against its own clock, so an
//!    early attempt can be accepted and a retry rejected (INVALID_TIMESTAMP is `unknown`). Any other error with `not persisted` (a timeout in the queue, not
//!    enough replicas, not leader) is `unknown`: an earlier attempt may have been written.
//! 4. Without a status, only the codes of rule 3 are `failed`.

use crate::history::{PersistStatus, SendOutcome};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// `Failed` or `Unknown`; never `Acked` (that is a report without an error).
    pub outcome: SendOutcome,
    /// The code and its description.
    pub error: String,
    /// The rule that decided the outcome.
    pub why: &'static str,
}

impl Classification {
    /// `error; why`, as the history's `error` field shows it.
    pub fn reason(&self) -> String {
        format!("{}; {}", self.error, self.why)
    }
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
    let code = error_code(error);
    let what = match code {
        Some(code) => code.to_string(),
        None => error.to_string(),
    };
    let intrinsic = code.is_some_and(rejects_the_message_itself);
    let (outcome, why) = match (code, status) {
        (Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight), _) => {
            (SendOutcome::Unknown, "purged; an earlier attempt may have been written")
        }
        (_, Some(PersistStatus::PossiblyPersisted)) => (SendOutcome::Unknown, "possibly persisted"),
        (_, Some(PersistStatus::Persisted)) => (SendOutcome::Unknown, "persisted despite the error"),
        (_, Some(PersistStatus::NotPersisted)) if intrinsic => {
            (SendOutcome::Failed, "not persisted; the error rejects the message itself")
        }
        (_, Some(PersistStatus::NotPersisted)) => {
            (SendOutcome::Unknown, "not persisted by this attempt; an earlier attempt may have been written")
        }
        (_, None) if intrinsic => (SendOutcome::Failed, "no status; the error rejects the message itself"),
        (_, None) => (SendOutcome::Unknown, "no status; the error does not rule out a write"),
    };
    Classification { outcome, error: what, why }
}

/// Errors about the message itself, the same for every attempt, after which no byte of it can
/// be in the log: the client refused it, or the broker validated and rejected the batch before
/// appending it.
pub fn rejects_the_message_itself(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        // Local: refused before any request carried it.
        C::InvalidArgument
            | C::UnknownPartition
            | C::UnknownTopic
            | C::BadMessage
            | C::KeySerialization
            | C::ValueSerialization
            | C::MessageSizeTooLarge
            // Broker: validated and refused before append.
            | C::InvalidMessageSize
            | C::MessageBatchTooLarge
            | C::InvalidRequiredAcks
            | C::InvalidTopic
            | C::InvalidRecord
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

    fn outcome(code: C, status: Option<PersistStatus>) -> SendOutcome {
        classify(&produce(code), status).outcome
    }

    #[test]
    fn rule_1_a_purge_is_unknown_whatever_the_status() {
        for status in [None, Some(PersistStatus::NotPersisted), Some(PersistStatus::PossiblyPersisted)] {
            assert_eq!(outcome(C::PurgeQueue, status), SendOutcome::Unknown, "{status:?}");
            assert_eq!(outcome(C::PurgeInflight, status), SendOutcome::Unknown, "{status:?}");
        }
        let c = classify(&produce(C::PurgeQueue), Some(PersistStatus::NotPersisted));
        assert!(c.reason().ends_with("purged; an earlier attempt may have been written"), "{}", c.reason());
    }

    #[test]
    fn rule_2_possibly_persisted_and_persisted_with_an_error_are_unknown() {
        assert_eq!(outcome(C::MessageSizeTooLarge, Some(PersistStatus::PossiblyPersisted)), SendOutcome::Unknown);
        assert_eq!(outcome(C::MessageTimedOut, Some(PersistStatus::PossiblyPersisted)), SendOutcome::Unknown);
        assert_eq!(outcome(C::OutOfOrderSequenceNumber, Some(PersistStatus::Persisted)), SendOutcome::Unknown);
    }

    #[test]
    fn rule_3_not_persisted_fails_only_for_errors_about_the_message_itself() {
        for code in [C::MessageSizeTooLarge, C::InvalidRecord, C::UnknownPartition, C::TopicAuthorizationFailed] {
            assert_eq!(outcome(code, Some(PersistStatus::NotPersisted)), SendOutcome::Failed, "{code:?}");
        }
        for code in [C::MessageTimedOut, C::NotEnoughReplicas, C::NotLeaderForPartition, C::QueueFull] {
            assert_eq!(outcome(code, Some(PersistStatus::NotPersisted)), SendOutcome::Unknown, "{code:?}");
        }
        let c = classify(&produce(C::MessageTimedOut), Some(PersistStatus::NotPersisted));
        assert!(c.reason().starts_with("MessageTimedOut (Local: Message timed out)"), "{}", c.reason());
    }

    #[test]
    fn rule_4_without_a_status_only_rejections_of_the_message_fail() {
        for code in [C::MessageSizeTooLarge, C::UnknownPartition, C::TopicAuthorizationFailed] {
            assert_eq!(outcome(code, None), SendOutcome::Failed, "{code:?}");
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
            assert_eq!(outcome(code, None), SendOutcome::Unknown, "{code:?}");
        }
        assert_eq!(classify(&KafkaError::Canceled, None).outcome, SendOutcome::Unknown);
    }

    #[test]
    fn an_invalid_timestamp_is_unknown_a_retry_meets_another_clock() {
        // The broker checks timestamps against its own clock: an early attempt can be accepted
        // and its retry rejected, whatever this attempt's status says.
        for status in [None, Some(PersistStatus::NotPersisted)] {
            assert_eq!(outcome(C::InvalidTimestamp, status), SendOutcome::Unknown, "{status:?}");
        }
    }
}
