package main

// The producer role: sarama's AsyncProducer with delivery reports on Successes() and Errors(),
// the way sarama users who want to know what happened to each message write it. One goroutine
// sends messages first_seq, first_seq+1, ... at `rate`, never more than `max_in_flight` without
// an outcome; two goroutines turn reports into `outcome` lines. Each message carries its seq in
// ProducerMessage.Metadata; the map of seqs without an outcome makes "one outcome per seq" a
// matter of removing from it.
//
// A graceful stop (SIGTERM, EOF on stdin, duration_ms over, max_messages sent) stops sending,
// AsyncCloses the producer (which flushes and retries what it holds) and waits for every
// outstanding report up to the delivery bound (deliveryBound), then writes `unknown` ("no report
// by the end") for any seq still without an outcome, then `stopped`.
//
// With a `transaction` in the config the producer is transactional (transactional.go): the same
// sending, in transactions of `messages` messages, each between a `txn_begin` and a `txn_end`.

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

const (
	// maxCatchUp: a paced producer that fell behind catches up by at most this much.
	maxCatchUp = 100 * time.Millisecond
	// flushMargin: beyond sarama's own attempts, for the last reports to arrive.
	flushMargin = 5 * time.Second
	// maxDeliveryBound caps the wait for reports at the end: librdkafka's default delivery
	// timeout, so the clients under test get the same patience.
	maxDeliveryBound = 300 * time.Second
)

// deliveryBound is how long a graceful stop waits for outstanding reports. sarama has no single
// delivery timeout: a message gets Retry.Max+1 attempts, each bounded by the broker's wait for
// acks (Producer.Timeout) or, when the broker does not answer at all, by the connection's read
// deadline (Net.ReadTimeout), with Retry.Backoff between attempts. Plus flushMargin, at most
// maxDeliveryBound. With sarama's defaults: 4 x 30 s + 0.3 s + 5 s.
func deliveryBound(sc *sarama.Config) time.Duration {
	attempts := time.Duration(max(sc.Producer.Retry.Max, 0) + 1)
	attempt := max(sc.Producer.Timeout, sc.Net.ReadTimeout)
	bound := attempt*attempts + sc.Producer.Retry.Backoff*(attempts-1) + flushMargin
	return min(bound, maxDeliveryBound)
}

// pending is one message handed (or being handed) to sarama without an outcome yet.
type pending struct {
	sentAt    time.Time
	partition *int32 // the worker's explicit partition; nil with hash routing
}

type producerWorker struct {
	cfg     *Config
	sc      *sarama.Config
	out     *Out
	log     func(string, ...any)
	enc     *encoder
	noAcks  bool
	bound   time.Duration
	slots   chan struct{} // one token per message without an outcome (the in-flight cap)
	mu      sync.Mutex
	waiting map[uint64]pending
	closed  bool // after the final unknowns: later reports are ignored
	// reported gets a token (without blocking) after each outcome line: awaitOutcomes waits on it.
	reported chan struct{}
}

// runProducer creates the producer (newProducer), writes `ready`, sends until a stop, and
// accounts for every seq. stop is closed by SIGTERM, EOF on stdin or a failed write.
func runProducer(cfg *Config, sc *sarama.Config, out *Out, stop <-chan struct{}, log func(string, ...any),
	newProducer func() (sarama.AsyncProducer, error)) error {
	enc, err := newEncoder(cfg.RunID, cfg.id, cfg.PayloadBytes)
	if err != nil {
		return invalid("%v", err)
	}
	// A producer that cannot create its client within its duration never sends: it gives up
	// (and the cell is unknown for want of traffic) rather than hold the run.
	connectBy := time.Now().Add(time.Duration(cfg.DurationMs) * time.Millisecond)
	p, late := connect(stop, connectBy, log, "producer", newProducer)
	if late {
		return fmt.Errorf("could not create the producer within its duration of %d ms", cfg.DurationMs)
	}
	if p == nil {
		out.stopped(nil) // stopped before the client existed: nothing was sent
		return nil
	}
	w := &producerWorker{
		cfg:      cfg,
		sc:       sc,
		out:      out,
		log:      log,
		enc:      enc,
		noAcks:   sc.Producer.RequiredAcks == sarama.NoResponse,
		bound:    deliveryBound(sc),
		slots:    make(chan struct{}, cfg.MaxInFlight),
		waiting:  make(map[uint64]pending),
		reported: make(chan struct{}, 1),
	}
	out.ready()
	deadline := time.Now().Add(time.Duration(cfg.DurationMs) * time.Millisecond)
	reportsDone := w.readReports(p)

	var next uint64
	if cfg.Transaction != nil {
		t := &transactional{w: w, txn: cfg.Transaction, p: p, reportsDone: reportsDone, newProducer: newProducer}
		next = t.send(stop, deadline)
		p, reportsDone = t.p, t.reportsDone // nil and a closed channel when it was closed
	} else {
		next = w.send(p, stop, deadline)
	}
	log("sent seqs %d..%d; closing the producer, waiting up to %v for %d reports", cfg.FirstSeq, next, w.bound, w.outstanding())
	if p != nil {
		p.AsyncClose()
	}
	w.finish(reportsDone)
	return nil
}

// readReports turns p's reports into outcome lines until sarama closes its channels (after
// AsyncClose), which closes the channel it returns.
func (w *producerWorker) readReports(p sarama.AsyncProducer) <-chan struct{} {
	var reports sync.WaitGroup
	reports.Add(2)
	go func() {
		defer reports.Done()
		for msg := range p.Successes() {
			w.acked(msg)
		}
	}()
	go func() {
		defer reports.Done()
		for pe := range p.Errors() {
			w.errored(pe)
		}
	}()
	done := make(chan struct{})
	go func() { reports.Wait(); close(done) }()
	return done
}

// partitionOf is where message seq goes; nil with hash routing.
func (w *producerWorker) partitionOf(seq uint64) *int32 {
	var p int32
	switch w.cfg.routing.kind {
	case "round-robin":
		p = int32((seq + uint64(w.cfg.id)) % uint64(w.cfg.Partitions))
	case "partition":
		p = w.cfg.routing.partition
	default:
		return nil
	}
	return &p
}

// send hands messages to sarama until the duration is over, max_messages are sent or the
// worker is stopped; it returns the next seq (seqs below it each have a `sending` line).
func (w *producerWorker) send(p sarama.AsyncProducer, stop <-chan struct{}, deadline time.Time) uint64 {
	g := newGate(w, deadline)
	defer g.close()
	seq := w.cfg.FirstSeq
	for g.open(seq, stop) {
		handed := w.sendOne(p, seq, stop, g.ending.C)
		seq++
		if !handed {
			break
		}
		g.sent()
	}
	return seq
}

// gate paces sending: `rate`, the in-flight cap, and the ends of sending (stop, duration_ms,
// max_messages).
type gate struct {
	w        *producerWorker
	interval time.Duration // 0: as fast as the in-flight cap allows
	deadline time.Time
	ending   *time.Timer // fires at deadline
	nextDue  time.Time
}

func newGate(w *producerWorker, deadline time.Time) *gate {
	g := &gate{w: w, deadline: deadline, ending: time.NewTimer(time.Until(deadline)), nextDue: time.Now()}
	if w.cfg.Rate > 0 {
		g.interval = time.Duration(float64(time.Second) / w.cfg.Rate)
	}
	return g
}

func (g *gate) close() { g.ending.Stop() }

// open waits until message seq may be handed over (its turn at `rate`, then an in-flight token,
// which it takes); false when sending is over: stopped, the duration over, or max_messages sent.
func (g *gate) open(seq uint64, stop <-chan struct{}) bool {
	cfg := g.w.cfg
	for {
		select {
		case <-stop:
			return false
		default:
		}
		now := time.Now()
		if !now.Before(g.deadline) {
			return false
		}
		if cfg.MaxMessages != nil && seq >= cfg.FirstSeq+*cfg.MaxMessages {
			return false
		}
		if g.interval > 0 && now.Before(g.nextDue) {
			select {
			case <-stop:
				return false
			case <-g.ending.C:
				return false
			case <-time.After(g.nextDue.Sub(now)):
			}
			continue
		}
		// The in-flight cap: a token per message without an outcome.
		select {
		case g.w.slots <- struct{}{}:
			return true
		case <-stop:
			return false
		case <-g.ending.C:
			return false
		}
	}
}

// sent: a message was handed over; the next is due one interval later (a producer that fell
// behind catches up by at most maxCatchUp).
func (g *gate) sent() {
	if g.interval > 0 {
		g.nextDue = g.nextDue.Add(g.interval)
		if now := time.Now(); g.nextDue.Add(maxCatchUp).Before(now) {
			g.nextDue = now
		}
	}
}

// release gives back the token open took, for a message that was not sent after all.
func (g *gate) release() {
	select {
	case <-g.w.slots:
	default:
	}
}

// sendOne writes `sending`, then hands the message to sarama. False when sending ended while
// sarama's input was full: the message was never handed over, so it is `failed`.
func (w *producerWorker) sendOne(p sarama.AsyncProducer, seq uint64, stop <-chan struct{}, ending <-chan time.Time) bool {
	partition := w.partitionOf(seq)
	key, value := w.enc.encode(seq)
	msg := &sarama.ProducerMessage{
		Topic:    w.cfg.Topic,
		Key:      sarama.StringEncoder(key),
		Value:    sarama.ByteEncoder(value),
		Metadata: seq,
	}
	if partition != nil {
		msg.Partition = *partition
	}
	w.out.emit(sendingLine{Type: "sending", Seq: seq, Partition: partition})
	w.mu.Lock()
	w.waiting[seq] = pending{sentAt: time.Now(), partition: partition}
	w.mu.Unlock()
	select {
	case p.Input() <- msg:
		return true
	case <-stop:
	case <-ending:
	}
	w.report(seq, outcomeLine{Outcome: outcomeFailed, Error: "not handed to sarama", Why: whyNotHandedToClient}, false)
	return false
}

// acked: a report on Successes().
func (w *producerWorker) acked(msg *sarama.ProducerMessage) {
	seq, ok := msg.Metadata.(uint64)
	if !ok {
		w.log("a success report without a seq: %+v", msg)
		return
	}
	partition := msg.Partition
	line := outcomeLine{Outcome: outcomeAcked, Partition: &partition}
	if !w.noAcks {
		// With acks=0 sarama reports success without an offset.
		offset := msg.Offset
		line.Offset = &offset
	}
	w.report(seq, line, true)
}

// errored: a report on Errors(), classified.
func (w *producerWorker) errored(pe *sarama.ProducerError) {
	if pe == nil || pe.Msg == nil {
		w.log("an error report without a message: %v", pe)
		return
	}
	seq, ok := pe.Msg.Metadata.(uint64)
	if !ok {
		w.log("an error report without a seq: %v", pe.Err)
		return
	}
	outcome, why := classify(pe.Err, w.sc.Producer.Idempotent)
	w.report(seq, outcomeLine{Outcome: outcome, Error: pe.Err.Error(), Why: why}, true)
}

// report writes the one outcome of seq, if it has none yet, and frees its in-flight token.
func (w *producerWorker) report(seq uint64, line outcomeLine, fromClient bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	p, ok := w.waiting[seq]
	if !ok {
		w.log("a second report for seq %d is ignored: %s %s", seq, line.Outcome, line.Error)
		return
	}
	delete(w.waiting, seq)
	line.Type, line.Seq = "outcome", seq
	if line.Partition == nil {
		line.Partition = p.partition
	}
	if fromClient {
		line.LatencyMs = latencyMs(time.Since(p.sentAt))
	}
	w.out.emit(line)
	select {
	case <-w.slots:
	default:
	}
	select {
	case w.reported <- struct{}{}:
	default:
	}
}

func (w *producerWorker) outstanding() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting)
}

// finish waits for the reports of every message handed over (until sarama closes its report
// channels, or for the delivery bound), records `unknown` for any seq still without an
// outcome, and writes `stopped`.
func (w *producerWorker) finish(reportsDone <-chan struct{}) {
	deadline := time.NewTimer(w.bound)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for w.outstanding() > 0 {
		select {
		case <-reportsDone:
			break wait
		case <-deadline.C:
			break wait
		case <-tick.C:
		}
	}
	if left := w.unreported(whyNoReportByTheEnd, true); left > 0 {
		w.log("%d messages had no report within %v: unknown", left, w.bound)
	}
	w.out.stopped(nil)
}

// unreported writes `unknown` (why) for every seq still without an outcome, in seq order, and
// returns how many; closing: later reports are ignored (the end of the run).
func (w *producerWorker) unreported(why string, closing bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	left := make([]uint64, 0, len(w.waiting))
	for seq := range w.waiting {
		left = append(left, seq)
	}
	sort.Slice(left, func(i, j int) bool { return left[i] < left[j] })
	for _, seq := range left {
		p := w.waiting[seq]
		delete(w.waiting, seq)
		w.out.emit(outcomeLine{Type: "outcome", Seq: seq, Outcome: outcomeUnknown, Partition: p.partition, Why: why})
		select {
		case <-w.slots:
		default:
		}
	}
	if closing {
		w.closed = true
	}
	return len(left)
}
