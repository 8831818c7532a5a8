//! A transactional producer's transactions (`docs/worker-protocol.md`, Transactions): how the
//! rdkafka worker ends one and names its outcome, and how the harness turns a transaction's
//! outcome into each of its messages' (the same for every client, so it lives here once).

use crate::history::{SendOutcome, TxnOutcome};

/// The end of one transaction, as a worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TxnEnd {
    pub first_seq: u64,
    pub last_seq: u64,
    pub outcome: TxnOutcome,
    pub error: Option<String>,
    pub why: Option<String>,
}

pub const ABORTED_ON_PURPOSE: &str = "aborted on purpose";
/// The harness's word for a transaction whose producer died with it open.
pub const OPEN_WHEN_KILLED: &str = "the producer was killed with the transaction open";
pub const OPEN_WHEN_EXITED: &str = "the worker exited with the transaction open";

/// What librdkafka says of a failed transactional call (`rd_kafka_error_t`'s flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxnErrorKind {
    pub fatal: bool,
    pub retriable: bool,
    pub requires_abort: bool,
}

/// What the worker does after a commit returned an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCommitError {
    /// Call commit again: librdkafka allows it after a retriable error (a timeout), and the
    /// outcome is then the retried call's.
    Retry,
    /// Abort: the transaction failed in a way that leaves it abortable (a message failed).
    Abort,
    /// The producer cannot go on (fenced, an invalid epoch): the transaction is unknown, and a
    /// new producer with the same `transactional.id` must be made.
    Unknown(&'static str),
}

/// Retries of a commit that timed out, before the transaction is called unknown.
pub const COMMIT_RETRIES: u32 = 3;

/// The rules, in order, for a commit that returned an error:
/// 1. fatal (fenced, invalid producer epoch): unknown, the producer is replaced;
/// 2. abortable (a message of it failed): abort, and the abort's result decides;
/// 3. retriable (timed out), fewer than `COMMIT_RETRIES` times: commit again;
/// 4. anything else, or retries used up: unknown, the producer is replaced.
pub fn after_commit_error(kind: TxnErrorKind, retries_done: u32) -> AfterCommitError {
    if kind.fatal {
        AfterCommitError::Unknown("a fatal error: the producer may have been fenced, its commit may have landed")
    } else if kind.requires_abort {
        AfterCommitError::Abort
    } else if kind.retriable && retries_done < COMMIT_RETRIES {
        AfterCommitError::Retry
    } else if kind.retriable {
        AfterCommitError::Unknown("the commit kept timing out: it may land later")
    } else {
        AfterCommitError::Unknown("the commit failed without saying it could be aborted")
    }
}

/// The outcome a message of a transaction that ended so gets in the history.
pub fn message_outcome(txn: TxnOutcome) -> SendOutcome {
    match txn {
        TxnOutcome::Committed => SendOutcome::Acked,
        // Written to the log, but as an aborted transaction's: a read_committed reader never
        // sees it, as if it had not been written.
        TxnOutcome::Aborted => SendOutcome::Failed,
        TxnOutcome::Unknown => SendOutcome::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fatal_commit_error_is_unknown_whatever_else_it_says() {
        let kind = TxnErrorKind { fatal: true, retriable: true, requires_abort: true };
        assert!(matches!(after_commit_error(kind, 0), AfterCommitError::Unknown(_)));
    }

    #[test]
    fn an_abortable_commit_error_aborts() {
        let kind = TxnErrorKind { requires_abort: true, ..Default::default() };
        assert_eq!(after_commit_error(kind, 0), AfterCommitError::Abort);
    }

    #[test]
    fn a_timed_out_commit_is_retried_then_unknown() {
        let kind = TxnErrorKind { retriable: true, ..Default::default() };
        assert_eq!(after_commit_error(kind, 0), AfterCommitError::Retry);
        assert_eq!(after_commit_error(kind, COMMIT_RETRIES - 1), AfterCommitError::Retry);
        assert!(matches!(after_commit_error(kind, COMMIT_RETRIES), AfterCommitError::Unknown(_)));
    }

    #[test]
    fn any_other_commit_error_is_unknown() {
        assert!(matches!(after_commit_error(TxnErrorKind::default(), 0), AfterCommitError::Unknown(_)));
    }

    #[test]
    fn messages_take_their_transactions_outcome() {
        assert_eq!(message_outcome(TxnOutcome::Committed), SendOutcome::Acked);
        assert_eq!(message_outcome(TxnOutcome::Aborted), SendOutcome::Failed);
        assert_eq!(message_outcome(TxnOutcome::Unknown), SendOutcome::Unknown);
    }
}
