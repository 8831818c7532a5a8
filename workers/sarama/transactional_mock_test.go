package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// The transactional producer against sarama's own MockBroker: sarama's real transaction
// manager (InitProducerId, AddPartitionsToTxn, Produce, EndTxn), one broker that is leader of
// the topic's one partition and the transaction coordinator.

type mockCluster struct {
	broker *sarama.MockBroker
}

// newMockCluster answers every request the transactional producer sends; overrides replace
// the default response of a request type.
func newMockCluster(t *testing.T, overrides map[string]sarama.MockResponse) *mockCluster {
	t.Helper()
	b := sarama.NewMockBroker(t, 1)
	t.Cleanup(b.Close)
	handlers := map[string]sarama.MockResponse{
		"MetadataRequest": sarama.NewMockMetadataResponse(t).
			SetBroker(b.Addr(), b.BrokerID()).
			SetController(b.BrokerID()).
			SetLeader("t", 0, b.BrokerID()),
		"FindCoordinatorRequest": sarama.NewMockFindCoordinatorResponse(t).
			SetCoordinator(sarama.CoordinatorTransaction, "x", b),
		"InitProducerIDRequest": sarama.NewMockInitProducerIDResponse(t).SetProducerID(7).SetProducerEpoch(0),
		"AddPartitionsToTxnRequest": sarama.NewMockWrapper(&sarama.AddPartitionsToTxnResponse{
			Version: 1,
			Errors:  map[string][]*sarama.PartitionError{"t": {{Partition: 0, Err: sarama.ErrNoError}}},
		}),
		"ProduceRequest": sarama.NewMockProduceResponse(t),
		"EndTxnRequest":  sarama.NewMockWrapper(&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrNoError}),
	}
	for name, r := range overrides {
		handlers[name] = r
	}
	b.SetHandlerByMap(handlers)
	return &mockCluster{broker: b}
}

// requests counts the requests of one type the broker answered.
func (c *mockCluster) requests(kind string) int {
	n := 0
	for _, rr := range c.broker.History() {
		if fmt.Sprintf("%T", rr.Request) == "*sarama."+kind {
			n++
		}
	}
	return n
}

func runAgainstMock(t *testing.T, c *mockCluster, extra string) []map[string]any {
	t.Helper()
	line := `{"protocol":1,"role":"producer","id":0,"run_id":"r","bootstrap_servers":"` + c.broker.Addr() + `","topic":"t","partitions":1,` +
		`"payload_bytes":32,"duration_ms":10000,"first_seq":0,"acks":"all","idempotence":true` + extra + `}`
	cfg, err := parseConfig([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := saramaConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The mock broker speaks the request versions of Kafka 2.0 and answers no ApiVersions.
	sc.Version = sarama.V2_0_0_0
	sc.ApiVersionsRequest = false
	sc.Metadata.Retry.Backoff = 10 * time.Millisecond
	sc.Producer.Retry.Backoff = 10 * time.Millisecond
	sc.Producer.Transaction.Retry.Backoff = 10 * time.Millisecond
	sc.Producer.Transaction.Retry.Max = 2
	rec := &recorder{}
	done := make(chan error)
	go func() {
		done <- runProducer(cfg, sc, newOut(rec), make(chan struct{}), t.Logf, func() (sarama.AsyncProducer, error) {
			return sarama.NewAsyncProducer(cfg.brokers, sc)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the producer did not stop")
	}
	return rec.all()
}

func TestSaramaTransactionsCommitAndAbortOnPurpose(t *testing.T) {
	c := newMockCluster(t, nil)
	lines := runAgainstMock(t, c, `,"max_messages":7,"transaction":{"id":"x","messages":3,"abort_every":2,"timeout_ms":10000}`)
	ends := checkTxnLines(t, lines)
	expectEnds(t, ends, "0..2 committed", "3..5 aborted", "6..6 committed")
	for _, l := range lines {
		if l["type"] == "outcome" && l["outcome"] != "acked" {
			t.Errorf("outcome %v", l)
		}
	}
	if n := c.requests("EndTxnRequest"); n != 3 {
		t.Errorf("%d EndTxn requests, want 3", n)
	}
}

func TestSaramaAMessageThatFailsAbortsItsTransaction(t *testing.T) {
	c := newMockCluster(t, map[string]sarama.MockResponse{
		// The first produce request and its retries (Producer.Retry.Max 3) fail; then all succeed.
		"ProduceRequest": sarama.NewMockSequence(
			sarama.NewMockProduceResponse(t).SetError("t", 0, sarama.ErrNotEnoughReplicas),
			sarama.NewMockProduceResponse(t).SetError("t", 0, sarama.ErrNotEnoughReplicas),
			sarama.NewMockProduceResponse(t).SetError("t", 0, sarama.ErrNotEnoughReplicas),
			sarama.NewMockProduceResponse(t).SetError("t", 0, sarama.ErrNotEnoughReplicas),
			sarama.NewMockProduceResponse(t),
		),
	})
	lines := runAgainstMock(t, c, `,"rate":100,"max_messages":4,"transaction":{"id":"x","messages":2,"abort_every":0,"timeout_ms":10000}`)
	ends := checkTxnLines(t, lines)
	if len(ends) < 2 || ends[0]["outcome"] != "aborted" || !strings.HasPrefix(ends[0]["why"].(string), "txn rule 5: ") ||
		!strings.Contains(ends[0]["error"].(string), sarama.ErrNotEnoughReplicas.Error()) {
		t.Fatalf("the first transaction: %v", ends)
	}
	if last := ends[len(ends)-1]; last["outcome"] != "committed" {
		t.Errorf("the last transaction: %v", last)
	}
}

func TestSaramaAFencedCommitIsUnknownAndReplacesTheProducer(t *testing.T) {
	c := newMockCluster(t, map[string]sarama.MockResponse{
		"EndTxnRequest": sarama.NewMockSequence(
			&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrProducerFenced},
			&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrNoError},
		),
	})
	lines := runAgainstMock(t, c, `,"max_messages":4,"transaction":{"id":"x","messages":2,"abort_every":0,"timeout_ms":10000}`)
	ends := checkTxnLines(t, lines)
	expectEnds(t, ends, "0..1 unknown", "2..3 committed")
	if ends[0]["why"] != whyCommitFatal {
		t.Errorf("the fenced transaction: %v", ends[0])
	}
	if n := c.requests("InitProducerIDRequest"); n != 2 {
		t.Errorf("%d InitProducerId requests, want 2 (the first producer and its replacement)", n)
	}
}

func TestSaramaACommitWhoseRetriesRunOutIsUnknown(t *testing.T) {
	c := newMockCluster(t, map[string]sarama.MockResponse{
		// Retriable for sarama: it retries EndTxn Producer.Transaction.Retry.Max (here 2) times.
		"EndTxnRequest": sarama.NewMockSequence(
			&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrConcurrentTransactions},
			&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrConcurrentTransactions},
			&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrConcurrentTransactions},
			&sarama.EndTxnResponse{Version: 1, Err: sarama.ErrNoError},
		),
	})
	lines := runAgainstMock(t, c, `,"max_messages":4,"transaction":{"id":"x","messages":2,"abort_every":0,"timeout_ms":10000}`)
	ends := checkTxnLines(t, lines)
	expectEnds(t, ends, "0..1 unknown", "2..3 committed")
	if ends[0]["why"] != whyCommitUnresolved {
		t.Errorf("the unresolved transaction: %v", ends[0])
	}
}
