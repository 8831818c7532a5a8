package main

// The consumer role: a sarama ConsumerGroup with a ConsumerGroupHandler (Setup, ConsumeClaim,
// Cleanup), the way sarama users write it, called in a loop of group.Consume.
//
//   - Setup writes `rebalance assign` (the session's claims of the topic, sorted; [] for a member
//     left idle) and starts the session's processing goroutine (processing_buffer > 0) and, in
//     manual-sync, the idle committer.
//   - ConsumeClaim reads claim.Messages(). With processing_buffer > 0 it puts each record on a
//     bounded channel of that size, shared by the session's partitions, which one goroutine
//     processes (records wait received-but-unprocessed, as in a service with a work queue);
//     with 0 it processes the record itself (one goroutine per partition, as sarama runs them).
//   - Processing is a sleep of processing_ms, then `processed` (or `foreign`), then the commit
//     mode's step.
//   - Cleanup (a rebalance or the stop) processes what the buffer holds, commits (manual-sync),
//     and writes `rebalance revoke`. sarama then closes the session's offset manager, which with
//     auto-commit on commits what was marked one last time.
//
// Commit modes (docs/worker-protocol.md):
//   - auto-store-after-process: Consumer.Offsets.AutoCommit.Enable, MarkMessage after processing.
//   - manual-sync: auto-commit off, MarkMessage after processing, session.Commit() every
//     commit_every records or commit_interval_ms, once nothing arrived or was processed for
//     1 s (idle commit), and in Cleanup. `committing` lines before each Commit(); `commit`
//     lines after it from what sarama's offset manager holds (offsets.go), since Commit()
//     returns no error.
//   - before-process: auto-commit on, MarkMessage when a record is received, before it waits in
//     the buffer and is processed.
//   sarama reports nothing about its automatic commits, so the auto-commit modes write no
//   `commit` lines ("where the client reports them").
//
// A graceful stop cancels the context of Consume: ConsumeClaim stops taking records (those
// sarama fetched and the worker did not take are dropped, not marked), Cleanup processes the
// buffer and commits, Consume returns, group.Close() leaves the group, then `stopped`.

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

const (
	// idleCommitAfter: explicit commits also commit a partial batch once nothing new has
	// arrived and nothing has been processed for this long (otherwise the tail of a run stays
	// uncommitted), and not again within this long of the last commit. Processing counts as
	// activity because a full buffer drains long after the last record arrived: committing
	// every idleCheckEvery meanwhile stalled processing (commitMu) on Commit() calls that wait
	// behind a fetch on the coordinator's connection, 0.5 to 1 s each; a drain measured here
	// fell from 200 to under 20 records/s and timed out.
	idleCommitAfter = time.Second
	idleCheckEvery  = 100 * time.Millisecond
	// rejoinPause: after Consume fails, before joining again.
	rejoinPause = time.Second
)

type received struct {
	msg *sarama.ConsumerMessage
	id  decoded
}

type consumerWorker struct {
	cfg  *Config
	out  *Out
	log  func(string, ...any)
	errs *errorLimiter

	lastReceived  atomic.Int64 // unix nanoseconds
	lastProcessed atomic.Int64 // unix nanoseconds
	processed     atomic.Uint64

	// Per session, set in Setup before ConsumeClaim runs and cleared in Cleanup.
	claimed  []int32
	buffer   chan received
	procDone chan struct{}
	idleStop chan struct{}
	idleDone chan struct{}

	// commitMu serializes marking (manual-sync) and explicit commits, so that what sarama's
	// offset manager holds after Commit() is the result of that commit.
	commitMu    sync.Mutex
	pending     map[int32]int64 // partition -> next offset, processed and not yet committed
	sinceCommit uint32
	lastCommit  time.Time
	// commitResults is false once sarama's offset manager cannot be read (offsets.go).
	commitResults atomic.Bool
}

// runConsumer creates the group (newGroup), writes `ready`, consumes until a stop, and stops
// gracefully.
func runConsumer(cfg *Config, out *Out, stop <-chan struct{}, log func(string, ...any),
	newGroup func() (sarama.ConsumerGroup, error)) error {
	group, _ := connect(stop, time.Time{}, log, "consumer group", newGroup)
	if group == nil {
		var none uint64
		out.stopped(&none)
		return nil
	}
	w := &consumerWorker{cfg: cfg, out: out, log: log, errs: newErrorLimiter(out, log)}
	w.commitResults.Store(true)
	out.ready()

	errorsDone := make(chan struct{})
	go func() {
		defer close(errorsDone)
		for err := range group.Errors() {
			w.errs.report(err.Error())
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	for ctx.Err() == nil {
		err := group.Consume(ctx, []string{cfg.Topic}, w)
		if ctx.Err() != nil || errors.Is(err, sarama.ErrClosedConsumerGroup) {
			break
		}
		if err != nil {
			w.errs.report("consume: " + err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(rejoinPause):
			}
		}
	}
	// Leave the group.
	if err := group.Close(); err != nil {
		log("closing the consumer group: %v", err)
	}
	select {
	case <-errorsDone:
	case <-time.After(time.Second):
	}
	processed := w.processed.Load()
	out.stopped(&processed)
	return nil
}

func (w *consumerWorker) touch() { w.lastReceived.Store(time.Now().UnixNano()) }

// idleFor: how long since a record last arrived or was processed.
func (w *consumerWorker) idleFor() time.Duration {
	last := max(w.lastReceived.Load(), w.lastProcessed.Load())
	return time.Since(time.Unix(0, last))
}

// Setup: a new session with its claims.
func (w *consumerWorker) Setup(sess sarama.ConsumerGroupSession) error {
	claimed := append([]int32{}, sess.Claims()[w.cfg.Topic]...)
	sort.Slice(claimed, func(i, j int) bool { return claimed[i] < claimed[j] })
	w.claimed = claimed
	w.out.emit(rebalanceLine{Type: "rebalance", Kind: "assign", Partitions: claimed})

	w.commitMu.Lock()
	w.pending = make(map[int32]int64)
	w.sinceCommit = 0
	w.lastCommit = time.Now()
	w.commitMu.Unlock()
	w.touch()

	if w.cfg.ProcessingBuffer > 0 {
		buffer := make(chan received, w.cfg.ProcessingBuffer)
		done := make(chan struct{})
		w.buffer, w.procDone = buffer, done
		go func() {
			defer close(done)
			for r := range buffer {
				w.process(sess, r)
			}
		}()
	}
	if w.cfg.commit == commitManualSync {
		stopIdle, idleDone := make(chan struct{}), make(chan struct{})
		w.idleStop, w.idleDone = stopIdle, idleDone
		go w.idleCommitter(sess, stopIdle, idleDone)
	}
	return nil
}

// ConsumeClaim takes the records of one partition until the session ends.
func (w *consumerWorker) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	buffer := w.buffer
	for {
		// Checked first: once the session is over (a rebalance, the stop), take nothing more.
		if sess.Context().Err() != nil {
			return nil
		}
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			w.touch()
			r := received{msg: msg, id: decodeValue(w.cfg.RunID, msg.Value)}
			if w.cfg.commit == commitBeforeProcess {
				sess.MarkMessage(msg, "")
			}
			if buffer != nil {
				// Blocks while the buffer is full; the processing goroutine runs until Cleanup,
				// which comes after every ConsumeClaim has returned.
				buffer <- r
			} else {
				w.process(sess, r)
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}

// Cleanup: the session's partitions go (a rebalance or the stop).
func (w *consumerWorker) Cleanup(sess sarama.ConsumerGroupSession) error {
	if w.idleStop != nil {
		close(w.idleStop)
		<-w.idleDone
		w.idleStop, w.idleDone = nil, nil
	}
	if w.buffer != nil {
		close(w.buffer)
		<-w.procDone
		w.buffer, w.procDone = nil, nil
	}
	if w.cfg.commit == commitManualSync {
		w.commitPending(sess)
	}
	w.out.emit(rebalanceLine{Type: "rebalance", Kind: "revoke", Partitions: w.claimed})
	w.commitMu.Lock()
	w.pending = nil // partitions no longer held: their offsets are not committed by this worker again
	w.commitMu.Unlock()
	return nil
}

// process: the simulated work, the report, then the commit mode's step.
func (w *consumerWorker) process(sess sarama.ConsumerGroupSession, r received) {
	if w.cfg.ProcessingMs > 0 {
		time.Sleep(time.Duration(w.cfg.ProcessingMs * float64(time.Millisecond)))
	}
	if r.id.ours {
		w.out.emit(processedLine{Type: "processed", Producer: r.id.producer, Seq: r.id.seq, Partition: r.msg.Partition, Offset: r.msg.Offset})
	} else {
		w.out.emit(foreignLine{Type: "foreign", Partition: r.msg.Partition, Offset: r.msg.Offset, Detail: r.id.detail})
	}
	w.processed.Add(1)
	w.lastProcessed.Store(time.Now().UnixNano())
	switch w.cfg.commit {
	case commitAutoStoreAfterProcess:
		sess.MarkMessage(r.msg, "")
	case commitManualSync:
		if w.note(sess, r.msg) {
			w.commitPending(sess)
		}
	}
}

// note marks a processed record and counts it; true when commit_every records are pending or
// commit_interval_ms has passed since the last commit.
func (w *consumerWorker) note(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) bool {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	sess.MarkMessage(msg, "")
	if w.pending == nil {
		return false
	}
	if next := msg.Offset + 1; next > w.pending[msg.Partition] {
		w.pending[msg.Partition] = next
	}
	w.sinceCommit++
	return w.sinceCommit >= w.cfg.CommitEvery ||
		time.Since(w.lastCommit) >= time.Duration(w.cfg.CommitIntervalMs)*time.Millisecond
}

// tailDue: offsets are pending and the last commit was at least idleCommitAfter ago.
func (w *consumerWorker) tailDue() bool {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	return len(w.pending) > 0 && time.Since(w.lastCommit) >= idleCommitAfter
}

// idleCommitter commits what is pending once the worker has been idle for idleCommitAfter.
func (w *consumerWorker) idleCommitter(sess sarama.ConsumerGroupSession, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(idleCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if w.idleFor() >= idleCommitAfter && w.tailDue() {
				w.commitPending(sess)
			}
		}
	}
}

// commitPending commits what is pending with session.Commit(): `committing` for each partition
// before, `commit` (or `commit` with an error) after, from what sarama's offset manager holds.
// An offset not committed stays pending (sarama keeps it marked) for the next commit.
func (w *consumerWorker) commitPending(sess sarama.ConsumerGroupSession) {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	if len(w.pending) == 0 {
		return
	}
	partitions := make([]int32, 0, len(w.pending))
	for p := range w.pending {
		partitions = append(partitions, p)
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	for _, p := range partitions {
		w.out.emit(committingLine{Type: "committing", Partition: p, Offset: w.pending[p]})
	}
	sess.Commit()
	for _, p := range partitions {
		offset := w.pending[p]
		known, errText := w.commitResult(sess, p, offset)
		switch {
		case !known:
			delete(w.pending, p)
		case errText == "":
			w.out.emit(commitLine{Type: "commit", Partition: p, Offset: offset})
			delete(w.pending, p)
		default:
			w.out.emit(commitLine{Type: "commit", Partition: p, Offset: offset, Error: errText})
		}
	}
	if len(w.pending) == 0 {
		w.sinceCommit = 0
	}
	w.lastCommit = time.Now()
}

// commitResult: whether the commit of offset is known, and if so its error ("" for success).
func (w *consumerWorker) commitResult(sess sarama.ConsumerGroupSession, partition int32, offset int64) (known bool, errText string) {
	if !w.commitResults.Load() {
		return false, ""
	}
	held, dirty, err := pomState(sess, w.cfg.Topic, partition)
	switch {
	case errors.Is(err, errNotManaged):
		return true, "not committed: sarama no longer manages this partition"
	case err != nil:
		w.commitResults.Store(false)
		w.log("cannot read commit results from sarama's offset manager, so no commit lines: %v", err)
		return false, ""
	case !dirty && held >= offset:
		return true, ""
	default:
		return true, "not committed: sarama's Commit() returns no error and still holds the offset as uncommitted (its reason, if any, is on an error line)"
	}
}
