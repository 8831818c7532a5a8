package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// fakeTxnProducer is a transactional sarama.AsyncProducer without a cluster. It takes messages
// from Input() one at a time and reports each, after `delay`, as a success (or as failFor
// says); its CommitTxn and AbortTxn return at once, without waiting for those reports (sarama
// waits until they are handed over, not until the worker wrote them: the worker must wait
// for its outcome lines either way).
type fakeTxnProducer struct {
	sarama.AsyncProducer // the methods the worker does not call
	name                 string
	delay                time.Duration
	failFor              func(seq uint64) error
	commit               func() (error, sarama.ProducerTxnStatusFlag)

	input     chan *sarama.ProducerMessage
	successes chan *sarama.ProducerMessage
	errors    chan *sarama.ProducerError
	closeOnce sync.Once

	mu       sync.Mutex
	status   sarama.ProducerTxnStatusFlag
	received int
	calls    *[]string // shared by the producers of one test
}

func newFakeTxnProducer(name string, calls *[]string) *fakeTxnProducer {
	f := &fakeTxnProducer{
		name:      name,
		input:     make(chan *sarama.ProducerMessage),
		successes: make(chan *sarama.ProducerMessage),
		errors:    make(chan *sarama.ProducerError),
		status:    sarama.ProducerTxnFlagReady,
		calls:     calls,
	}
	go func() {
		defer close(f.successes)
		defer close(f.errors)
		var offset int64
		for msg := range f.input {
			f.mu.Lock()
			f.received++
			f.mu.Unlock()
			time.Sleep(f.delay)
			seq := msg.Metadata.(uint64)
			if f.failFor != nil {
				if err := f.failFor(seq); err != nil {
					f.mu.Lock()
					f.status = sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagAbortableError
					f.mu.Unlock()
					f.errors <- &sarama.ProducerError{Msg: msg, Err: err}
					continue
				}
			}
			msg.Offset = offset
			offset++
			f.successes <- msg
		}
	}()
	return f
}

func (f *fakeTxnProducer) call(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.calls = append(*f.calls, f.name+":"+what)
}

func (f *fakeTxnProducer) Input() chan<- *sarama.ProducerMessage     { return f.input }
func (f *fakeTxnProducer) Successes() <-chan *sarama.ProducerMessage { return f.successes }
func (f *fakeTxnProducer) Errors() <-chan *sarama.ProducerError      { return f.errors }
func (f *fakeTxnProducer) IsTransactional() bool                     { return true }

func (f *fakeTxnProducer) AsyncClose() {
	f.call("close")
	f.closeOnce.Do(func() { close(f.input) })
}

func (f *fakeTxnProducer) TxnStatus() sarama.ProducerTxnStatusFlag {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeTxnProducer) BeginTxn() error {
	f.call("begin")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = sarama.ProducerTxnFlagInTransaction
	return nil
}

func (f *fakeTxnProducer) CommitTxn() error {
	f.call("commit")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status&sarama.ProducerTxnFlagInError != 0 {
		return sarama.ErrNotEnoughReplicas
	}
	if f.commit != nil {
		var err error
		err, f.status = f.commit()
		return err
	}
	f.status = sarama.ProducerTxnFlagReady
	return nil
}

func (f *fakeTxnProducer) AbortTxn() error {
	f.call("abort")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = sarama.ProducerTxnFlagReady
	return nil
}

// recorder keeps the lines the worker wrote.
type recorder struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (r *recorder) Write(b []byte) (int, error) {
	var line map[string]any
	if err := json.Unmarshal(b, &line); err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	return len(b), nil
}

func (r *recorder) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.lines...)
}

func seqOf(line map[string]any, key string) uint64 { return uint64(line[key].(float64)) }

func runTxnProducer(t *testing.T, extra string, stop chan struct{}, producers ...*fakeTxnProducer) []map[string]any {
	t.Helper()
	line := `{"protocol":1,"role":"producer","id":0,"run_id":"r","bootstrap_servers":"b:9092","topic":"t","partitions":3,` +
		`"payload_bytes":32,"duration_ms":10000,"first_seq":0` + extra + `}`
	cfg, err := parseConfig([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := saramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	made := 0
	newProducer := func() (sarama.AsyncProducer, error) {
		if made == len(producers) {
			return nil, fmt.Errorf("no more producers")
		}
		made++
		return producers[made-1], nil
	}
	if stop == nil {
		stop = make(chan struct{})
	}
	done := make(chan error)
	go func() { done <- runProducer(cfg, sc, newOut(rec), stop, t.Logf, newProducer) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the producer did not stop")
	}
	return rec.all()
}

// checkTxnLines checks the protocol's rules for a transactional producer's lines: ready first,
// stopped last, dense seqs each with `sending` then one outcome, every seq inside one
// txn_begin..txn_end, whose outcome lines all come before its txn_end. It returns the
// txn_end lines.
func checkTxnLines(t *testing.T, lines []map[string]any) []map[string]any {
	t.Helper()
	if len(lines) < 2 || lines[0]["type"] != "ready" || lines[len(lines)-1]["type"] != "stopped" {
		t.Fatalf("not ready ... stopped: %v", lines)
	}
	var ends []map[string]any
	var open *uint64
	sent := map[uint64]bool{}
	outcome := map[uint64]bool{}
	var next uint64
	for i, l := range lines {
		switch l["type"] {
		case "txn_begin":
			if open != nil {
				t.Fatalf("line %d: txn_begin with a transaction open: %v", i, l)
			}
			first := seqOf(l, "first_seq")
			if first != next {
				t.Fatalf("line %d: txn_begin at %d, next seq %d", i, first, next)
			}
			open = &first
		case "sending":
			seq := seqOf(l, "seq")
			if open == nil || seq != next {
				t.Fatalf("line %d: sending %d outside a transaction or out of order (next %d)", i, seq, next)
			}
			sent[seq] = true
			next++
		case "outcome":
			seq := seqOf(l, "seq")
			if !sent[seq] || outcome[seq] {
				t.Fatalf("line %d: outcome of seq %d not sent or a second one", i, seq)
			}
			outcome[seq] = true
		case "txn_end":
			first, last := seqOf(l, "first_seq"), seqOf(l, "last_seq")
			if open == nil || *open != first || last+1 != next {
				t.Fatalf("line %d: txn_end %v does not end the open transaction (next seq %d)", i, l, next)
			}
			for s := first; s <= last; s++ {
				if !outcome[s] {
					t.Fatalf("line %d: txn_end %v before the outcome of seq %d", i, l, s)
				}
			}
			open = nil
			ends = append(ends, l)
		}
	}
	if open != nil {
		t.Fatalf("a transaction is open at stopped")
	}
	return ends
}

func expectEnds(t *testing.T, ends []map[string]any, want ...string) {
	t.Helper()
	var got []string
	for _, e := range ends {
		got = append(got, fmt.Sprintf("%v..%v %v", e["first_seq"], e["last_seq"], e["outcome"]))
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("transactions %v, want %v", got, want)
	}
}

func TestTransactionsCommitAbortOnPurposeAndEndWithSending(t *testing.T) {
	var calls []string
	p := newFakeTxnProducer("p1", &calls)
	p.delay = 2 * time.Millisecond // reports come after the commit returned
	lines := runTxnProducer(t, `,"max_messages":7,"transaction":{"id":"x","messages":3,"abort_every":2,"timeout_ms":10000}`, nil, p)
	ends := checkTxnLines(t, lines)
	// 0..2: first transaction, committed; 3..5: the second of two, aborted on purpose; 6: cut
	// short by max_messages, committed.
	expectEnds(t, ends, "0..2 committed", "3..5 aborted", "6..6 committed")
	if ends[1]["why"] != "aborted on purpose" || ends[0]["why"] != nil || ends[0]["error"] != nil {
		t.Errorf("whys: %v", ends)
	}
	if got := strings.Join(calls, ","); got != "p1:begin,p1:commit,p1:begin,p1:abort,p1:begin,p1:commit,p1:close" {
		t.Errorf("calls %s", got)
	}
}

func TestAFailedMessageEndsItsTransactionWhichIsAborted(t *testing.T) {
	var calls []string
	p := newFakeTxnProducer("p1", &calls)
	p.failFor = func(seq uint64) error {
		if seq == 1 {
			return sarama.ErrNotEnoughReplicas
		}
		return nil
	}
	// The failure arrives before the worker sends seq 2 only if it waits for it: make sending slow.
	lines := runTxnProducer(t, `,"rate":50,"max_messages":8,"transaction":{"id":"x","messages":4,"abort_every":0,"timeout_ms":10000}`, nil, p)
	ends := checkTxnLines(t, lines)
	if len(ends) < 2 || ends[0]["outcome"] != "aborted" || !strings.HasPrefix(ends[0]["why"].(string), "txn rule 5: ") {
		t.Fatalf("the failed transaction: %v", ends)
	}
	if last := seqOf(ends[0], "last_seq"); last >= 3 {
		t.Errorf("the transaction in error went on to seq %d", last)
	}
	if ends[len(ends)-1]["outcome"] != "committed" {
		t.Errorf("the next transactions: %v", ends)
	}
}

func TestAnUnknownTransactionReplacesTheProducer(t *testing.T) {
	var calls []string
	p1, p2 := newFakeTxnProducer("p1", &calls), newFakeTxnProducer("p2", &calls)
	p1.commit = func() (error, sarama.ProducerTxnStatusFlag) {
		return sarama.ErrProducerFenced, sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagFatalError
	}
	lines := runTxnProducer(t, `,"max_messages":4,"transaction":{"id":"x","messages":2,"abort_every":0,"timeout_ms":10000}`, nil, p1, p2)
	ends := checkTxnLines(t, lines)
	expectEnds(t, ends, "0..1 unknown", "2..3 committed")
	if ends[0]["why"] != whyCommitFatal || ends[0]["error"] != sarama.ErrProducerFenced.Error() {
		t.Errorf("the fenced transaction: %v", ends[0])
	}
	if got := strings.Join(calls, ","); got != "p1:begin,p1:commit,p1:close,p2:begin,p2:commit,p2:close" {
		t.Errorf("calls %s", got)
	}
}

func TestAStopInTheMiddleOfATransactionCommitsWhatWasSent(t *testing.T) {
	var calls []string
	p := newFakeTxnProducer("p1", &calls)
	stop := make(chan struct{})
	go func() {
		for {
			p.mu.Lock()
			n := p.received
			p.mu.Unlock()
			if n >= 5 {
				close(stop)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	lines := runTxnProducer(t, `,"rate":200,"transaction":{"id":"x","messages":100,"abort_every":0,"timeout_ms":10000}`, stop, p)
	ends := checkTxnLines(t, lines)
	if len(ends) != 1 || ends[0]["outcome"] != "committed" || seqOf(ends[0], "last_seq") < 4 {
		t.Fatalf("transactions %v", ends)
	}
	if got := strings.Join(calls, ","); got != "p1:begin,p1:commit,p1:close" {
		t.Errorf("calls %s", got)
	}
}

func TestAStopBeforeTheFirstMessageBeginsNoTransaction(t *testing.T) {
	var calls []string
	p := newFakeTxnProducer("p1", &calls)
	stop := make(chan struct{})
	close(stop)
	lines := runTxnProducer(t, `,"transaction":{"id":"x","messages":10,"abort_every":0,"timeout_ms":10000}`, stop, p)
	if ends := checkTxnLines(t, lines); len(ends) != 0 || len(lines) != 2 {
		t.Fatalf("lines %v", lines)
	}
	if got := strings.Join(calls, ","); got != "p1:close" {
		t.Errorf("calls %s", got)
	}
}
