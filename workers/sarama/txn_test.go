package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

// fakeEnder answers CommitTxn and AbortTxn as told, and reports the status sarama would have
// after the commit.
type fakeEnder struct {
	commitErr, abortErr error
	status              sarama.ProducerTxnStatusFlag
	calls               []string
}

func (f *fakeEnder) CommitTxn() error {
	f.calls = append(f.calls, "commit")
	return f.commitErr
}

func (f *fakeEnder) AbortTxn() error {
	f.calls = append(f.calls, "abort")
	return f.abortErr
}

func (f *fakeEnder) TxnStatus() sarama.ProducerTxnStatusFlag { return f.status }

func expectTxn(t *testing.T, f *fakeEnder, onPurpose bool, want txnResult, calls string) {
	t.Helper()
	got := endTransaction(f, onPurpose)
	if got != want {
		t.Errorf("endTransaction(onPurpose=%v) = %+v, want %+v", onPurpose, got, want)
	}
	if strings.Join(f.calls, ",") != calls {
		t.Errorf("calls %v, want %s", f.calls, calls)
	}
	if got.replaceProducer() != (want.outcome == outcomeUnknown) {
		t.Errorf("replaceProducer %v for %s", got.replaceProducer(), got.outcome)
	}
}

var (
	errNotEnoughReplicas = sarama.ErrNotEnoughReplicas
	errFenced            = sarama.ErrProducerFenced
	errTimeout           = errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout")
	inAbortableError     = sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagAbortableError
	inFatalError         = sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagFatalError
)

func TestTxnRule1AnAbortOnPurposeThatSucceedsIsAborted(t *testing.T) {
	expectTxn(t, &fakeEnder{status: sarama.ProducerTxnFlagReady}, true,
		txnResult{outcome: outcomeAborted, why: whyAbortedOnPurpose}, "abort")
	if whyAbortedOnPurpose != "aborted on purpose" {
		t.Fatalf("the protocol's why is %q", whyAbortedOnPurpose)
	}
	// A message of it failed before the abort: still aborted on purpose, never committed.
	expectTxn(t, &fakeEnder{status: inAbortableError}, true,
		txnResult{outcome: outcomeAborted, why: whyAbortedOnPurpose}, "abort")
}

func TestTxnRule2AFailedAbortOnPurposeIsUnknown(t *testing.T) {
	expectTxn(t, &fakeEnder{abortErr: errFenced, status: inFatalError}, true,
		txnResult{outcome: outcomeUnknown, err: errFenced.Error(), why: whyAbortOnPurposeErr}, "abort")
}

func TestTxnRule3ACommitThatSucceedsIsCommitted(t *testing.T) {
	expectTxn(t, &fakeEnder{status: sarama.ProducerTxnFlagReady}, false, txnResult{outcome: outcomeCommitted}, "commit")
}

func TestTxnRule4AFatalCommitErrorIsUnknownAndNotAborted(t *testing.T) {
	expectTxn(t, &fakeEnder{commitErr: errFenced, status: inFatalError}, false,
		txnResult{outcome: outcomeUnknown, err: errFenced.Error(), why: whyCommitFatal}, "commit")
	// Fatal wins over abortable, should both ever be set.
	expectTxn(t, &fakeEnder{commitErr: errFenced, status: inFatalError | sarama.ProducerTxnFlagAbortableError}, false,
		txnResult{outcome: outcomeUnknown, err: errFenced.Error(), why: whyCommitFatal}, "commit")
}

func TestTxnRule5AnAbortableCommitErrorThenASuccessfulAbortIsAborted(t *testing.T) {
	got := endTransaction(&fakeEnder{commitErr: errNotEnoughReplicas, status: inAbortableError}, false)
	want := txnResult{outcome: outcomeAborted, err: errNotEnoughReplicas.Error(), why: whyAbortedAfterCommitErr(errNotEnoughReplicas)}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if !strings.HasPrefix(got.why, "txn rule 5: ") || !strings.Contains(got.why, errNotEnoughReplicas.Error()) {
		t.Errorf("why %q does not name the rule and the commit error", got.why)
	}
	expectTxn(t, &fakeEnder{commitErr: errNotEnoughReplicas, status: inAbortableError}, false, want, "commit,abort")
}

func TestTxnRule6AnAbortableCommitErrorThenAFailedAbortIsUnknown(t *testing.T) {
	expectTxn(t, &fakeEnder{commitErr: errNotEnoughReplicas, abortErr: errTimeout, status: inAbortableError}, false,
		txnResult{outcome: outcomeUnknown, err: "commit: " + errNotEnoughReplicas.Error() + "; abort: " + errTimeout.Error(), why: whyAbortAfterCommit},
		"commit,abort")
}

func TestTxnRule7ACommitErrorWithoutAFlagIsUnknown(t *testing.T) {
	// sarama's EndTxn retries ran out: the manager stays in EndTransaction|CommittingTransaction.
	status := sarama.ProducerTxnFlagEndTransaction | sarama.ProducerTxnFlagCommittingTransaction
	expectTxn(t, &fakeEnder{commitErr: errTimeout, status: status}, false,
		txnResult{outcome: outcomeUnknown, err: errTimeout.Error(), why: whyCommitUnresolved}, "commit")
	expectTxn(t, &fakeEnder{commitErr: sarama.ErrConcurrentTransactions, status: status}, false,
		txnResult{outcome: outcomeUnknown, err: sarama.ErrConcurrentTransactions.Error(), why: whyCommitUnresolved}, "commit")
}

// The protocol's rule, as src/model/workload.rs has it: the last of every abort_every.
func TestTheLastOfEveryAbortEveryTransactionsIsAbortedOnPurpose(t *testing.T) {
	tc := &TransactionConfig{Messages: 10, AbortEvery: 3}
	var aborted []uint64
	for s := uint64(0); s < 100; s += 10 {
		if tc.abortsOnPurpose(s) {
			aborted = append(aborted, s)
		}
	}
	if got := aborted; len(got) != 3 || got[0] != 20 || got[1] != 50 || got[2] != 80 {
		t.Errorf("aborted %v, want [20 50 80]", got)
	}
	if (&TransactionConfig{Messages: 10, AbortEvery: 0}).abortsOnPurpose(90) {
		t.Error("abort_every 0 aborts")
	}
	if !(&TransactionConfig{Messages: 10, AbortEvery: 1}).abortsOnPurpose(7) {
		t.Error("abort_every 1 does not abort every transaction")
	}
	// A restarted producer's first seq need not be a multiple of messages: 25/10 = 2.
	if !tc.abortsOnPurpose(25) {
		t.Error("the transaction from 25 is the third")
	}
}
