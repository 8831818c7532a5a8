package main

import (
	"testing"
	"time"
)

// A worker draining its buffer is busy though nothing arrives: processing counts as activity,
// so the idle commit waits for the tail instead of committing every idleCheckEvery.
func TestIdleMeansNothingArrivedAndNothingProcessed(t *testing.T) {
	w := &consumerWorker{}
	now := time.Now()
	w.lastReceived.Store(now.Add(-10 * time.Second).UnixNano())
	w.lastProcessed.Store(now.UnixNano())
	if idle := w.idleFor(); idle >= idleCommitAfter {
		t.Fatalf("idle for %v while processing", idle)
	}
	w.lastProcessed.Store(now.Add(-2 * idleCommitAfter).UnixNano())
	if idle := w.idleFor(); idle < idleCommitAfter {
		t.Fatalf("idle for only %v after nothing arrived or was processed for %v", idle, 2*idleCommitAfter)
	}
}

// The tail is committed at most once per idleCommitAfter, and only when something is pending.
func TestTailIsDueOncePendingAndNotCommittedRecently(t *testing.T) {
	w := &consumerWorker{pending: map[int32]int64{}}
	w.lastCommit = time.Now().Add(-2 * idleCommitAfter)
	if w.tailDue() {
		t.Fatal("due with nothing pending")
	}
	w.pending[0] = 42
	if !w.tailDue() {
		t.Fatal("not due with offsets pending and no commit for 2 s")
	}
	w.lastCommit = time.Now()
	if w.tailDue() {
		t.Fatal("due right after a commit")
	}
}
