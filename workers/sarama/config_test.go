package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func producerConfig(t *testing.T, extra string) (*Config, *sarama.Config, error) {
	t.Helper()
	line := `{"protocol":1,"role":"producer","id":1,"run_id":"r","bootstrap_servers":"b:9092","topic":"t","partitions":4` + extra + `}`
	cfg, err := parseConfig([]byte(line))
	if err != nil {
		return nil, nil, err
	}
	sc, err := saramaConfig(cfg)
	return cfg, sc, err
}

func consumerConfig(t *testing.T, commit, properties string) (*sarama.Config, error) {
	t.Helper()
	line := fmt.Sprintf(`{"protocol":1,"role":"consumer","id":1,"run_id":"r","bootstrap_servers":"b:9092","topic":"t","group_id":"g","commit":%q,"properties":{%s}}`, commit, properties)
	cfg, err := parseConfig([]byte(line))
	if err != nil {
		return nil, err
	}
	return saramaConfig(cfg)
}

func TestAcksAndIdempotenceMapToSaramasSettings(t *testing.T) {
	for acks, want := range map[string]sarama.RequiredAcks{`"0"`: sarama.NoResponse, `"1"`: sarama.WaitForLocal, `"all"`: sarama.WaitForAll} {
		_, sc, err := producerConfig(t, `,"acks":`+acks)
		if err != nil || sc.Producer.RequiredAcks != want {
			t.Errorf("acks %s: %v, %v; want %v", acks, sc.Producer.RequiredAcks, err, want)
		}
	}
	_, sc, err := producerConfig(t, `,"acks":"all","idempotence":true`)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Producer.Idempotent || sc.Net.MaxOpenRequests != 1 || sc.Producer.RequiredAcks != sarama.WaitForAll ||
		!sc.Version.IsAtLeast(sarama.V0_11_0_0) || !sc.Producer.Return.Successes || !sc.Producer.Return.Errors {
		t.Errorf("idempotence: %+v", sc.Producer)
	}
	if _, _, err := producerConfig(t, `,"acks":"1","idempotence":true`); err == nil || !isConfigError(err) {
		t.Errorf("idempotence with acks 1: %v, want a config error", err)
	}
}

func TestTheDefaultVersionSpeaksToKafka4(t *testing.T) {
	// Kafka 4 removed the request versions of brokers before 2.1 (KIP-896).
	_, sc, err := producerConfig(t, "")
	if err != nil || !sc.Version.IsAtLeast(sarama.V2_1_0_0) {
		t.Fatalf("default version %v, %v", sc.Version, err)
	}
	_, sc, err = producerConfig(t, `,"properties":{"Version":"3.7.0"}`)
	if err != nil || sc.Version != sarama.V3_7_0_0 {
		t.Fatalf("Version 3.7.0: %v, %v", sc.Version, err)
	}
}

func TestRoutingChoosesThePartitioner(t *testing.T) {
	_, sc, _ := producerConfig(t, `,"routing":"round-robin"`)
	if got := fmt.Sprintf("%T", sc.Producer.Partitioner("t")); got != "*sarama.manualPartitioner" {
		t.Errorf("round-robin routing uses %s", got)
	}
	_, sc, _ = producerConfig(t, `,"routing":"hash"`)
	if got := fmt.Sprintf("%T", sc.Producer.Partitioner("t")); got != "*sarama.hashPartitioner" {
		t.Errorf("hash routing uses %s", got)
	}
	if _, _, err := producerConfig(t, `,"routing":"round-robin","properties":{"Producer.Partitioner":"random"}`); err == nil || !isConfigError(err) {
		t.Errorf("an explicit partition with the random partitioner: %v", err)
	}
	cfg, _, _ := producerConfig(t, `,"routing":"round-robin"`)
	w := &producerWorker{cfg: cfg}
	if p := w.partitionOf(6); p == nil || *p != 3 { // (6 + id 1) % 4
		t.Errorf("seq 6 of producer 1 goes to %v, want 3", p)
	}
}

func TestDeliveryBoundFollowsSaramasRetries(t *testing.T) {
	sc := sarama.NewConfig()
	// 4 attempts of at most 30 s (Net.ReadTimeout > Producer.Timeout), 3 backoffs of 100 ms, margin.
	if got, want := deliveryBound(sc), 4*30*time.Second+300*time.Millisecond+flushMargin; got != want {
		t.Errorf("default bound %v, want %v", got, want)
	}
	sc.Producer.Retry.Max = 1000
	if got := deliveryBound(sc); got != maxDeliveryBound {
		t.Errorf("bound %v, want the cap %v", got, maxDeliveryBound)
	}
}

func TestConsumerDefaultsAndCommitModes(t *testing.T) {
	for mode, autoCommit := range map[string]bool{"auto-store-after-process": true, "before-process": true, "manual-sync": false} {
		sc, err := consumerConfig(t, mode, "")
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if sc.Consumer.Offsets.AutoCommit.Enable != autoCommit {
			t.Errorf("%s: auto-commit %v", mode, sc.Consumer.Offsets.AutoCommit.Enable)
		}
		if sc.Consumer.Offsets.Initial != sarama.OffsetOldest || sc.Consumer.Group.Session.Timeout != 6*time.Second ||
			sc.Consumer.Group.Heartbeat.Interval != time.Second || sc.Consumer.Offsets.AutoCommit.Interval != time.Second ||
			!sc.Consumer.Return.Errors || sc.Consumer.Group.Rebalance.GroupStrategies[0].Name() != sarama.RangeBalanceStrategyName {
			t.Errorf("%s: harness defaults not set: %+v", mode, sc.Consumer)
		}
	}
	sc, err := consumerConfig(t, "manual-sync", `"Consumer.Group.Session.Timeout":"10s","Consumer.Offsets.Initial":"newest"`)
	if err != nil || sc.Consumer.Group.Session.Timeout != 10*time.Second || sc.Consumer.Offsets.Initial != sarama.OffsetNewest {
		t.Errorf("properties do not override the harness's defaults: %v", err)
	}
	for _, mode := range []string{"auto", "manual-async", "sometimes"} {
		if _, err := consumerConfig(t, mode, ""); err == nil || !isConfigError(err) || !strings.Contains(err.Error(), mode) {
			t.Errorf("commit mode %s: %v, want a config error naming it", mode, err)
		}
	}
}

func TestSecurityBecomesSaramasNetSettings(t *testing.T) {
	line := `{"protocol":1,"role":"producer","id":0,"run_id":"r","bootstrap_servers":"b:1","topic":"t","partitions":1,` +
		`"security":{"protocol":"SASL_PLAINTEXT","sasl":{"mechanism":"SCRAM-SHA-512","username":"u","password":"p"}}}`
	c, err := parseConfig([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := saramaConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Net.SASL.Enable || sc.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || sc.Net.SASL.User != "u" || sc.Net.SASL.Password != "p" || sc.Net.TLS.Enable {
		t.Fatalf("SASL settings: %+v, TLS %v", sc.Net.SASL, sc.Net.TLS.Enable)
	}
	if sc.Net.SASL.SCRAMClientGeneratorFunc == nil || sc.Net.SASL.SCRAMClientGeneratorFunc().Begin("u", "p", "") != nil {
		t.Fatal("no working SCRAM client")
	}
	bad := strings.Replace(line, `"SASL_PLAINTEXT"`, `"SSL"`, 1)
	c, err = parseConfig([]byte(bad))
	if err == nil {
		_, err = saramaConfig(c)
	}
	if err == nil || !isConfigError(err) {
		t.Fatalf("SSL with sasl credentials: %v", err)
	}
}

func TestATransactionMakesSaramasTransactionalProducer(t *testing.T) {
	cfg, sc, err := producerConfig(t, `,"transaction":{"id":"kc-1-producer-0","messages":10,"abort_every":5,"timeout_ms":10000}`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Transaction == nil || cfg.Transaction.Messages != 10 || cfg.Transaction.AbortEvery != 5 {
		t.Fatalf("transaction %+v", cfg.Transaction)
	}
	if sc.Producer.Transaction.ID != "kc-1-producer-0" || sc.Producer.Transaction.Timeout != 10*time.Second ||
		!sc.Producer.Idempotent || sc.Producer.RequiredAcks != sarama.WaitForAll || sc.Net.MaxOpenRequests != 1 ||
		sc.Producer.Retry.Max < 1 || !sc.Version.IsAtLeast(sarama.V0_11_0_0) {
		t.Errorf("transactional settings: %+v, Net.MaxOpenRequests %d", sc.Producer, sc.Net.MaxOpenRequests)
	}
	// With idempotence and acks all spelled out, the same.
	if _, sc, err := producerConfig(t, `,"acks":"all","idempotence":true,"transaction":{"id":"x","messages":1,"abort_every":0,"timeout_ms":1000}`); err != nil || sc.Producer.Transaction.ID != "x" {
		t.Errorf("transaction with acks all and idempotence: %v", err)
	}
	// Absent or null: not transactional.
	for _, extra := range []string{"", `,"transaction":null`} {
		cfg, sc, err := producerConfig(t, extra)
		if err != nil || cfg.Transaction != nil || sc.Producer.Transaction.ID != "" {
			t.Errorf("%q: transactional: %v", extra, err)
		}
	}
	for extra, want := range map[string]string{
		`,"transaction":{"id":"","messages":10,"abort_every":0,"timeout_ms":1000}`:                                               "transaction.id is empty",
		`,"transaction":{"id":"x","messages":0,"abort_every":0,"timeout_ms":1000}`:                                               "transaction.messages",
		`,"transaction":{"id":"x","messages":10,"abort_every":0,"timeout_ms":0}`:                                                 "transaction.timeout_ms",
		`,"idempotence":false,"transaction":{"id":"x","messages":10,"abort_every":0,"timeout_ms":1000}`:                          "idempotent",
		`,"acks":"1","transaction":{"id":"x","messages":10,"abort_every":0,"timeout_ms":1000}`:                                   `acks "all"`,
		`,"transaction":{"id":"x","messages":10,"abort_every":0,"timeout_ms":1000},"properties":{"Net.MaxOpenRequests":"5"}`:     "Net.MaxOpenRequests",
		`,"transaction":{"id":"x","messages":10,"abort_every":0,"timeout_ms":1000},"properties":{"Producer.Transaction.ID":"y"}`: `use the config field "transaction"`,
	} {
		if _, _, err := producerConfig(t, extra); err == nil || !isConfigError(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a config error containing %q", extra, err, want)
		}
	}
}

func TestIsolationSetsSaramasIsolationLevelAndPropertiesWin(t *testing.T) {
	consumer := func(extra string) (*sarama.Config, error) {
		line := `{"protocol":1,"role":"consumer","id":1,"run_id":"r","bootstrap_servers":"b:9092","topic":"t","group_id":"g","commit":"manual-sync"` + extra + `}`
		cfg, err := parseConfig([]byte(line))
		if err != nil {
			return nil, err
		}
		return saramaConfig(cfg)
	}
	for extra, want := range map[string]sarama.IsolationLevel{
		"":                                sarama.ReadUncommitted, // sarama's default
		`,"isolation":null`:               sarama.ReadUncommitted,
		`,"isolation":"read_committed"`:   sarama.ReadCommitted,
		`,"isolation":"read_uncommitted"`: sarama.ReadUncommitted,
		`,"isolation":"read_committed","properties":{"Consumer.IsolationLevel":"read_uncommitted"}`: sarama.ReadUncommitted,
		`,"isolation":"read_uncommitted","properties":{"Consumer.IsolationLevel":"read_committed"}`: sarama.ReadCommitted,
	} {
		sc, err := consumer(extra)
		if err != nil || sc.Consumer.IsolationLevel != want {
			t.Errorf("%q: isolation %v, %v; want %v", extra, sc.Consumer.IsolationLevel, err, want)
		}
	}
	if _, err := consumer(`,"isolation":"serializable"`); err == nil || !isConfigError(err) || !strings.Contains(err.Error(), "isolation") {
		t.Errorf("isolation serializable: %v, want a config error", err)
	}
}
