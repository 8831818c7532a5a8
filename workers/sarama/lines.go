package main

// The protocol lines (docs/worker-protocol.md, "Lines"). Every line is one JSON object written
// with a single Write on an unbuffered stdout, under a mutex, before the worker goes on: a line
// the worker has not written when it is SIGKILLed never happened, and a frozen worker has every
// line it wrote already in the pipe.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"
)

// readyLine carries the pid, as the Rust worker's does, so a log can be matched to a process.
type readyLine struct {
	Type string `json:"type"`
	Pid  int    `json:"pid"`
}

type errorLine struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// stoppedLine: a consumer adds how many records it processed, as the Rust worker does.
type stoppedLine struct {
	Type      string  `json:"type"`
	Processed *uint64 `json:"processed,omitempty"`
}

type sendingLine struct {
	Type      string `json:"type"`
	Seq       uint64 `json:"seq"`
	Partition *int32 `json:"partition,omitempty"`
}

type outcomeLine struct {
	Type      string   `json:"type"`
	Seq       uint64   `json:"seq"`
	Outcome   string   `json:"outcome"`
	Partition *int32   `json:"partition,omitempty"`
	Offset    *int64   `json:"offset,omitempty"`
	LatencyMs *float64 `json:"latency_ms,omitempty"`
	Error     string   `json:"error,omitempty"`
	Why       string   `json:"why,omitempty"`
}

// txnBeginLine: a transaction began (transactional producers); its messages follow.
type txnBeginLine struct {
	Type     string `json:"type"`
	FirstSeq uint64 `json:"first_seq"`
}

// txnEndLine: the commit or abort of the transaction returned, after every outcome line of
// its messages.
type txnEndLine struct {
	Type     string `json:"type"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	Outcome  string `json:"outcome"`
	Error    string `json:"error,omitempty"`
	Why      string `json:"why,omitempty"`
}

type rebalanceLine struct {
	Type       string  `json:"type"`
	Kind       string  `json:"kind"`
	Partitions []int32 `json:"partitions"`
}

type processedLine struct {
	Type      string `json:"type"`
	Producer  uint32 `json:"producer"`
	Seq       uint64 `json:"seq"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type foreignLine struct {
	Type      string `json:"type"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Detail    string `json:"detail"`
}

type committingLine struct {
	Type      string `json:"type"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type commitLine struct {
	Type      string `json:"type"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Error     string `json:"error,omitempty"`
}

// Out writes protocol lines. After `stopped` (or once the reader is gone) it writes nothing more.
type Out struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
	// gone is closed when a write fails: the harness is gone, which stops the worker gracefully.
	gone     chan struct{}
	goneOnce sync.Once
}

func newOut(w io.Writer) *Out {
	return &Out{w: w, gone: make(chan struct{})}
}

// emit writes one line; false if it was not written.
func (o *Out) emit(line any) bool {
	// Encode, not Marshal: no HTML escaping ("<" stays "<" in error texts), and the newline.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(line); err != nil {
		panic(fmt.Sprintf("a protocol line does not serialize: %v", err))
	}
	text := buf.Bytes()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	if _, err := o.w.Write(text); err != nil {
		o.closed = true
		o.goneOnce.Do(func() { close(o.gone) })
		return false
	}
	return true
}

// stopped writes the last line of a graceful stop (processed: nil for a producer); nothing is
// written after it.
func (o *Out) stopped(processed *uint64) {
	o.emit(stoppedLine{Type: "stopped", Processed: processed})
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

func (o *Out) ready() { o.emit(readyLine{Type: "ready", Pid: os.Getpid()}) }

// errorRepeatInterval: the same client error repeats often while a broker is down; report it
// at most this often.
const errorRepeatInterval = 5 * time.Second

// errorLimiter writes `error` lines, the same message at most every errorRepeatInterval,
// counting the repeats it held back (as the Rust worker does).
type errorLimiter struct {
	mu      sync.Mutex
	out     *Out
	log     func(format string, args ...any)
	last    string
	at      time.Time
	repeats int
	now     func() time.Time
}

func newErrorLimiter(out *Out, log func(string, ...any)) *errorLimiter {
	return &errorLimiter{out: out, log: log, now: time.Now}
}

func (l *errorLimiter) report(message string) {
	l.mu.Lock()
	now := l.now()
	if message == l.last && !l.at.IsZero() && now.Sub(l.at) < errorRepeatInterval {
		l.repeats++
		l.mu.Unlock()
		return
	}
	text := message
	if message == l.last && l.repeats > 0 {
		text = fmt.Sprintf("%s (and %d more times)", message, l.repeats)
	}
	l.last, l.at, l.repeats = message, now, 0
	l.mu.Unlock()
	if l.log != nil {
		l.log("error: %s", text)
	}
	l.out.emit(errorLine{Type: "error", Message: text})
}

// latencyMs rounds a duration to a tenth of a millisecond.
func latencyMs(d time.Duration) *float64 {
	ms := math.Round(d.Seconds()*10_000) / 10
	return &ms
}
