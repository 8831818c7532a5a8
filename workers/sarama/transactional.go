package main

// The transactional producer (docs/worker-protocol.md, Transactions), as a Kafka Streams or
// Flink sink uses sarama's: Producer.Transaction.ID with an idempotent producer (config.go).
// NewAsyncProducer initialises the transactions (InitProducerId for the transactional id,
// fencing the process before this one) before `ready`.
//
// It sends as the plain producer does (the same `sending` lines, rate, in-flight cap, stop
// conditions and per-message `outcome` lines from Successes() and Errors()), in transactions
// of `messages` messages, one open at a time:
//
//   - A transaction begins (BeginTxn, then `txn_begin`) only when its first message is about
//     to be sent, so a stop or the end of the duration never leaves an empty one.
//   - It ends after `messages` messages, earlier when sarama has put it in error (a message of
//     it failed: sarama would refuse every further message with ErrTransactionNotReady), or at
//     the end of sending: a graceful stop ends the open transaction with what was sent.
//   - The end is a commit, or an abort on purpose by the protocol's abort_every rule (which
//     holds for a transaction cut short by a stop too: the rule is the first seq's); txn.go
//     decides the outcome.
//   - sarama's CommitTxn and AbortTxn return only after every message of the transaction was
//     handed to the worker's report goroutines, whose outcome lines may still be on their way:
//     the worker waits for every outcome line of the transaction before `txn_end`.
//   - After an unknown outcome it closes the producer and, when the next transaction is about
//     to begin, makes a new one with the same transactional id.

import (
	"time"

	"github.com/IBM/sarama"
)

// whyNoReportByTxnEnd: a message of a transaction with no report once its commit or abort had
// returned (which sarama does only after returning every message, so this should not happen).
const whyNoReportByTxnEnd = "no report by the end of its transaction"

// beginPause: after BeginTxn failed on a producer, before the next one is made.
const beginPause = 250 * time.Millisecond

type transactional struct {
	w   *producerWorker
	txn *TransactionConfig
	// p is the current producer; nil after it was closed, until the next transaction makes a
	// new one. reportsDone is closed once its report goroutines are done.
	p           sarama.AsyncProducer
	reportsDone <-chan struct{}
	newProducer func() (sarama.AsyncProducer, error)
}

// openTxn is the transaction being sent.
type openTxn struct {
	first, last uint64
}

// send sends in transactions until sending is over, ends the open transaction, and returns the
// next seq.
func (t *transactional) send(stop <-chan struct{}, deadline time.Time) uint64 {
	w := t.w
	g := newGate(w, deadline)
	defer g.close()
	seq := w.cfg.FirstSeq
	var open *openTxn
	for g.open(seq, stop) {
		if open == nil {
			if t.p == nil {
				g.release()
				if !t.replace(stop, deadline) {
					break
				}
				continue // the checks again: making the producer took time
			}
			if err := t.p.BeginTxn(); err != nil {
				g.release()
				w.log("BeginTxn failed (%v, status %v): closing the producer to make a new one", err, t.p.TxnStatus())
				t.close()
				select {
				case <-stop:
				case <-time.After(beginPause):
				}
				continue
			}
			open = &openTxn{first: seq}
			w.out.emit(txnBeginLine{Type: "txn_begin", FirstSeq: seq})
		}
		handed := w.sendOne(t.p, seq, stop, g.ending.C)
		open.last = seq
		seq++
		if !handed {
			break
		}
		g.sent()
		if seq-open.first >= uint64(t.txn.Messages) || t.p.TxnStatus()&sarama.ProducerTxnFlagInError != 0 {
			t.end(open)
			open = nil
		}
	}
	if open != nil {
		t.end(open)
	}
	return seq
}

// end ends the open transaction: commit or abort (txn.go), then, once every message of it has
// its outcome line, `txn_end`; after an unknown outcome it closes the producer.
func (t *transactional) end(open *openTxn) {
	w := t.w
	onPurpose := t.txn.abortsOnPurpose(open.first)
	started := time.Now()
	r := endTransaction(t.p, onPurpose)
	if !w.awaitOutcomes(w.bound) {
		left := w.unreported(whyNoReportByTxnEnd, false)
		w.log("%d messages of the transaction from seq %d had no report %v after it ended: unknown", left, open.first, w.bound)
	}
	w.out.emit(txnEndLine{Type: "txn_end", FirstSeq: open.first, LastSeq: open.last, Outcome: r.outcome, Error: r.err, Why: r.why})
	if r.outcome != outcomeCommitted && !(onPurpose && r.outcome == outcomeAborted) {
		w.log("transaction %d..%d: %s after %v (%s; %s)", open.first, open.last, r.outcome, time.Since(started), r.err, r.why)
	}
	if r.replaceProducer() {
		w.log("closing the producer after an unknown transaction; the next transaction makes a new one with transactional id %q", t.txn.ID)
		t.close()
	}
}

// awaitOutcomes waits until no message handed over is without an outcome line, at most bound;
// false if some still are. Every transaction before the open one was accounted for before it
// began, so what is outstanding is the open transaction's.
func (w *producerWorker) awaitOutcomes(bound time.Duration) bool {
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for w.outstanding() > 0 {
		select {
		case <-w.reported:
		case <-timeout.C:
			return w.outstanding() == 0
		}
	}
	return true
}

// close closes the current producer and waits for its report goroutines (it has no message
// without a report by then), at most the delivery bound.
func (t *transactional) close() {
	t.p.AsyncClose()
	select {
	case <-t.reportsDone:
	case <-time.After(t.w.bound):
		t.w.log("the closed producer's report channels are still open after %v", t.w.bound)
	}
	t.p = nil
	done := make(chan struct{})
	close(done)
	t.reportsDone = done
}

// replace makes a new producer with the same transactional id (which fences the old one's
// epoch); false when the worker was stopped or the duration ended first.
func (t *transactional) replace(stop <-chan struct{}, deadline time.Time) bool {
	p, late := connect(stop, deadline, t.w.log, "transactional producer", t.newProducer)
	if p == nil {
		if late {
			t.w.log("no new transactional producer within the duration: sending ends")
		}
		return false
	}
	t.p = p
	t.reportsDone = t.w.readReports(p)
	return true
}
