package main

// How a transactional producer ends a transaction, and what the transaction's outcome is
// (docs/worker-protocol.md, Transactions): `committed`, `aborted` or `unknown`. The harness
// turns it into each message's outcome; the per-message outcome lines only carry what sarama
// said (classify.go).
//
// What sarama (v1.61.1: async_producer.go, transaction_manager.go) does:
//
//   - CommitTxn and AbortTxn flush first: they pass an end-of-transaction marker through the
//     input channel and wait until every message handed over has been returned on Successes()
//     or Errors() (asyncProducer.finishTransaction, inFlight). Only then does the transaction
//     manager end the transaction (transactionManager.finishTransaction).
//   - A message that fails in a transaction puts the manager in error
//     (maybeTransitionToErrorState): ProducerTxnFlagFatalError for CLUSTER_AUTHORIZATION_FAILED,
//     PRODUCER_FENCED, UNSUPPORTED_VERSION, TRANSACTIONAL_ID_AUTHORIZATION_FAILED and
//     INVALID_PRODUCER_ID_MAPPING, ProducerTxnFlagAbortableError for any other error (with an
//     epoch bump on brokers >= 2.5). So do AddPartitionsToTxn failures (publishTxnPartitions).
//     In error, CommitTxn returns that error without sending EndTxn; AbortTxn is allowed after
//     an abortable error and returns the error after a fatal one.
//   - EndTxn is retried by sarama itself, up to Producer.Transaction.Retry.Max times (50) with
//     Producer.Transaction.Retry.Backoff (100 ms) between attempts: after a connection error (the
//     request may have reached the coordinator), no response, COORDINATOR_NOT_AVAILABLE and
//     NOT_COORDINATOR (refreshing the coordinator), COORDINATOR_LOAD_IN_PROGRESS,
//     CONCURRENT_TRANSACTIONS and every error Java calls retriable (isRetriableTxnError).
//     UNKNOWN_PRODUCER_ID makes the manager abortable; INVALID_PRODUCER_ID_MAPPING and every other
//     error fatal. When the retries run out, the last error comes back with neither flag: the
//     manager stays in EndTransaction and the commit may have reached the coordinator.
//   - After an EndTxn that needed an epoch bump (after an abortable error), sarama asks for a
//     new epoch (InitProducerId); if that fails, the call returns its error although EndTxn
//     succeeded.
//
// The rules, each with a test in txn_test.go (the `why` of a txn_end names its rule; a committed
// transaction has none, as an acked message has none):
//
//  1. Aborted on purpose (the protocol's abort_every): AbortTxn returned nil: aborted, why
//     "aborted on purpose".
//  2. Aborted on purpose, but AbortTxn failed: unknown. The worker never asked for a commit, but
//     the protocol counts only an abort that returned success as aborted.
//  3. CommitTxn returned nil: committed.
//  4. CommitTxn failed and sarama marks the error fatal (ProducerTxnFlagFatalError: fenced, an
//     invalid producer id mapping, not authorized, or an EndTxn answer it cannot handle):
//     unknown. The commit may have landed (a retried EndTxn answered with a fatal error), and
//     sarama refuses an abort.
//  5. CommitTxn failed with an error sarama marks abortable (ProducerTxnFlagAbortableError: a
//     message of the transaction failed, AddPartitionsToTxn failed, UNKNOWN_PRODUCER_ID) and the
//     AbortTxn that sarama then requires returned nil: aborted (the coordinator confirmed the
//     abort, which it refuses for a committed transaction); why names the commit error.
//  6. As 5, but AbortTxn failed too: unknown.
//  7. CommitTxn failed with neither flag: sarama's own EndTxn retries ran out (a connection
//     error, the coordinator moving or loading, CONCURRENT_TRANSACTIONS): unknown, an attempt
//     may have committed it.
//
// After every unknown outcome the producer cannot be trusted to go on (fatal, stuck in
// EndTransaction, or an abort it could not finish): the worker closes it and makes a new one
// with the same transactional id before the next transaction, which fences the old epoch and
// makes the coordinator finish whatever the old one left open.

import (
	"fmt"

	"github.com/IBM/sarama"
)

const (
	outcomeCommitted = "committed"
	outcomeAborted   = "aborted"
)

const (
	whyAbortedOnPurpose  = "aborted on purpose"
	whyAbortOnPurposeErr = "txn rule 2: the abort on purpose failed; only an abort that returned success counts as aborted"
	whyCommitFatal       = "txn rule 4: the commit failed with an error sarama marks fatal (fenced, invalid producer id mapping, not authorized, or an EndTxn answer it cannot handle); the commit may have landed, and the producer is replaced"
	whyAbortAfterCommit  = "txn rule 6: the commit failed with an abortable error and the abort failed too; the producer is replaced"
	whyCommitUnresolved  = "txn rule 7: the commit failed after sarama's own EndTxn retries ran out, without a fatal or abortable flag; an attempt may have committed it, and the producer is replaced"
)

// whyAbortedAfterCommitErr is rule 5's why, naming the commit error.
func whyAbortedAfterCommitErr(commitErr error) string {
	return fmt.Sprintf("txn rule 5: the commit failed with an abortable error (%v), and the abort it required returned success", commitErr)
}

// txnEnder is what ending a transaction needs of sarama's AsyncProducer.
type txnEnder interface {
	CommitTxn() error
	AbortTxn() error
	TxnStatus() sarama.ProducerTxnStatusFlag
}

// txnResult is a transaction's outcome, for its txn_end line.
type txnResult struct {
	outcome string // outcomeCommitted, outcomeAborted or outcomeUnknown
	err     string // the error of the call(s) that failed; "" when none did
	why     string // the rule; "" for committed
}

// replaceProducer: after this outcome the worker makes a new producer before the next
// transaction.
func (r txnResult) replaceProducer() bool { return r.outcome == outcomeUnknown }

// endTransaction ends the open transaction: an abort when onPurpose, a commit otherwise (and
// the abort sarama requires after an abortable commit error), and names its outcome.
func endTransaction(p txnEnder, onPurpose bool) txnResult {
	if onPurpose {
		if err := p.AbortTxn(); err != nil {
			return txnResult{outcome: outcomeUnknown, err: err.Error(), why: whyAbortOnPurposeErr} // rule 2
		}
		return txnResult{outcome: outcomeAborted, why: whyAbortedOnPurpose} // rule 1
	}
	commitErr := p.CommitTxn()
	if commitErr == nil {
		return txnResult{outcome: outcomeCommitted} // rule 3
	}
	status := p.TxnStatus()
	switch {
	case status&sarama.ProducerTxnFlagFatalError != 0:
		return txnResult{outcome: outcomeUnknown, err: commitErr.Error(), why: whyCommitFatal} // rule 4
	case status&sarama.ProducerTxnFlagAbortableError != 0:
		if abortErr := p.AbortTxn(); abortErr != nil {
			return txnResult{outcome: outcomeUnknown, err: fmt.Sprintf("commit: %v; abort: %v", commitErr, abortErr), why: whyAbortAfterCommit} // rule 6
		}
		return txnResult{outcome: outcomeAborted, err: commitErr.Error(), why: whyAbortedAfterCommitErr(commitErr)} // rule 5
	default:
		return txnResult{outcome: outcomeUnknown, err: commitErr.Error(), why: whyCommitUnresolved} // rule 7
	}
}
