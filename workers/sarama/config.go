package main

// The config: the first line of stdin (docs/worker-protocol.md, "The config"), its defaults
// (those of the Rust side, src/workload/protocol.rs), its checks, and the sarama.Config made
// from it. Every problem here is a config error: exit 2 with the reason on stderr.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

const protocolVersion = 1

// configError is an invalid config: the worker exits 2 with its message on stderr.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// isConfigError reports whether err means exit 2.
func isConfigError(err error) bool {
	var ce *configError
	return errors.As(err, &ce)
}

// Config is the worker's config. Fields of the other role keep their defaults.
type Config struct {
	Protocol         int     `json:"protocol"`
	Role             string  `json:"role"`
	ID               *uint32 `json:"id"`
	RunID            string  `json:"run_id"`
	BootstrapServers string  `json:"bootstrap_servers"`
	Topic            string  `json:"topic"`

	// Producer.
	Partitions   int32           `json:"partitions"`
	Rate         float64         `json:"rate"`
	PayloadBytes int             `json:"payload_bytes"`
	Routing      string          `json:"routing"`
	DurationMs   uint64          `json:"duration_ms"`
	FirstSeq     uint64          `json:"first_seq"`
	MaxMessages  *uint64         `json:"max_messages"`
	MaxInFlight  int             `json:"max_in_flight"`
	Acks         json.RawMessage `json:"acks"`
	Idempotence  *bool           `json:"idempotence"`
	// Transaction: null or absent, not transactional (docs/worker-protocol.md, Transactions).
	Transaction *TransactionConfig `json:"transaction"`

	// Consumer.
	GroupID          string  `json:"group_id"`
	Commit           string  `json:"commit"`
	CommitEvery      uint32  `json:"commit_every"`
	CommitIntervalMs uint64  `json:"commit_interval_ms"`
	ProcessingMs     float64 `json:"processing_ms"`
	ProcessingBuffer int     `json:"processing_buffer"`
	// Isolation: "read_committed" or "read_uncommitted"; "" (absent or null): sarama's default.
	Isolation string `json:"isolation"`

	Properties map[string]string `json:"properties"`
	Security   *Security         `json:"security"`

	// Derived by validate.
	id        uint32
	acks      string // "", "0", "1" or "all"
	routing   routing
	commit    commitMode
	brokers   []string
	producing bool
}

// TransactionConfig is a transactional producer's `transaction` object.
type TransactionConfig struct {
	// ID is the transactional id (Producer.Transaction.ID): the same for every process of one
	// producer, so a new process fences the one before it.
	ID string `json:"id"`
	// Messages per transaction.
	Messages uint32 `json:"messages"`
	// AbortEvery: the last of every this many transactions is aborted on purpose; 0: none.
	AbortEvery uint32 `json:"abort_every"`
	// TimeoutMs is transaction.timeout.ms (Producer.Transaction.Timeout).
	TimeoutMs uint64 `json:"timeout_ms"`
}

// abortsOnPurpose: whether the transaction whose first seq is firstSeq is aborted on purpose,
// the protocol's rule (src/model/workload.rs, Transactions::aborts_on_purpose).
func (t *TransactionConfig) abortsOnPurpose(firstSeq uint64) bool {
	if t.AbortEvery == 0 {
		return false
	}
	every := uint64(t.AbortEvery)
	return (firstSeq/uint64(max(t.Messages, 1)))%every == every-1
}

// routing: where each message goes.
type routing struct {
	kind      string // "round-robin", "hash" or "partition"
	partition int32  // for "partition"
}

func (r routing) explicit() bool { return r.kind != "hash" }

func parseRouting(s string) (routing, error) {
	switch s {
	case "round-robin", "hash":
		return routing{kind: s}, nil
	}
	if n, ok := strings.CutPrefix(s, "partition:"); ok {
		p, err := strconv.ParseInt(n, 10, 32)
		if err == nil && p >= 0 {
			return routing{kind: "partition", partition: int32(p)}, nil
		}
	}
	return routing{}, fmt.Errorf("routing must be \"round-robin\", \"hash\" or \"partition:N\"; found %q", s)
}

// commitMode: how a consumer commits (docs/worker-protocol.md, "Commit modes").
type commitMode string

const (
	commitAuto                  commitMode = "auto"
	commitAutoStoreAfterProcess commitMode = "auto-store-after-process"
	commitManualSync            commitMode = "manual-sync"
	commitManualAsync           commitMode = "manual-async"
	commitBeforeProcess         commitMode = "before-process"
)

// parseCommitMode accepts the modes sarama can express and explains the others.
func parseCommitMode(s string) (commitMode, error) {
	switch commitMode(s) {
	case commitAutoStoreAfterProcess, commitManualSync, commitBeforeProcess:
		return commitMode(s), nil
	case commitAuto:
		return "", invalid("sarama cannot express commit mode auto: it commits only offsets the application marked; use before-process")
	case commitManualAsync:
		return "", invalid("sarama cannot express commit mode manual-async: it has no asynchronous commit call; use manual-sync")
	}
	return "", invalid("unknown commit mode %q; sarama's modes are auto-store-after-process, manual-sync and before-process", s)
}

// parseConfig reads and checks the config line; every error is a config error.
func parseConfig(line []byte) (*Config, error) {
	cfg := &Config{
		Routing:          "round-robin",
		MaxInFlight:      10_000,
		Commit:           string(commitAuto),
		CommitEvery:      1,
		CommitIntervalMs: 1000,
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, invalid("no config: the first line of stdin must be the config as JSON")
	}
	if err := json.Unmarshal(line, cfg); err != nil {
		return nil, invalid("the config is not valid JSON for protocol %d: %v", protocolVersion, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) validate() error {
	if c.Protocol != protocolVersion {
		return invalid("protocol %d is not supported; this worker speaks protocol %d", c.Protocol, protocolVersion)
	}
	switch c.Role {
	case "producer", "consumer":
	default:
		return invalid("role must be \"producer\" or \"consumer\"; found %q", c.Role)
	}
	c.producing = c.Role == "producer"
	if c.ID == nil {
		return invalid("the config has no id")
	}
	c.id = *c.ID
	if err := validateRunID(c.RunID); err != nil {
		return invalid("%v", err)
	}
	for _, b := range strings.Split(c.BootstrapServers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.brokers = append(c.brokers, b)
		}
	}
	if len(c.brokers) == 0 {
		return invalid("bootstrap_servers is empty")
	}
	if c.Topic == "" {
		return invalid("topic is empty")
	}
	if c.producing {
		return c.validateProducer()
	}
	return c.validateConsumer()
}

func (c *Config) validateProducer() error {
	if c.Partitions < 1 {
		return invalid("partitions must be at least 1; found %d", c.Partitions)
	}
	r, err := parseRouting(c.Routing)
	if err != nil {
		return invalid("%v", err)
	}
	if r.kind == "partition" && r.partition >= c.Partitions {
		return invalid("routing partition:%d but the topic has %d partitions (0..%d)", r.partition, c.Partitions, c.Partitions-1)
	}
	c.routing = r
	if c.Rate < 0 {
		return invalid("rate must not be negative")
	}
	if c.PayloadBytes < 0 {
		return invalid("payload_bytes must not be negative")
	}
	if c.MaxInFlight < 1 {
		return invalid("max_in_flight must be at least 1")
	}
	acks, err := parseAcks(c.Acks)
	if err != nil {
		return err
	}
	c.acks = acks
	if c.Idempotence != nil && *c.Idempotence && acks != "" && acks != "all" {
		return invalid("idempotence needs acks \"all\" (sarama: Producer.RequiredAcks = WaitForAll); found acks %q", acks)
	}
	if t := c.Transaction; t != nil {
		switch {
		case t.ID == "":
			return invalid("transaction.id is empty")
		case t.Messages < 1:
			return invalid("transaction.messages must be at least 1")
		case t.TimeoutMs < 1:
			return invalid("transaction.timeout_ms must be at least 1")
		case t.TimeoutMs > uint64(math.MaxInt32):
			return invalid("transaction.timeout_ms must be at most %d (Kafka's transaction.timeout.ms is an int32)", math.MaxInt32)
		case c.Idempotence != nil && !*c.Idempotence:
			// sarama: "Transactional producer requires Idempotent to be true".
			return invalid("a transactional producer is idempotent (sarama: Producer.Idempotent); found idempotence false")
		case acks != "" && acks != "all":
			return invalid("a transactional producer needs acks \"all\" (sarama: Producer.RequiredAcks = WaitForAll); found acks %q", acks)
		}
	}
	return nil
}

// parseAcks accepts "0", "1", "all" (also "-1"), as strings or numbers; null is sarama's default.
func parseAcks(raw json.RawMessage) (string, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = text // a number
	}
	switch s {
	case "0", "1", "all":
		return s, nil
	case "-1":
		return "all", nil
	}
	return "", invalid("acks must be \"0\", \"1\" or \"all\"; found %s", text)
}

func (c *Config) validateConsumer() error {
	if c.GroupID == "" {
		return invalid("group_id is empty")
	}
	mode, err := parseCommitMode(c.Commit)
	if err != nil {
		return err
	}
	c.commit = mode
	if c.CommitEvery == 0 {
		c.CommitEvery = 1
	}
	if c.CommitIntervalMs == 0 {
		c.CommitIntervalMs = 1
	}
	if c.ProcessingMs < 0 {
		return invalid("processing_ms must not be negative")
	}
	if c.ProcessingBuffer < 0 {
		return invalid("processing_buffer must not be negative")
	}
	switch c.Isolation {
	case "", "read_committed", "read_uncommitted":
	default:
		return invalid("isolation must be \"read_committed\" or \"read_uncommitted\"; found %q", c.Isolation)
	}
	return nil
}

// defaultVersion: the protocol version the worker speaks unless properties set "Version".
// Kafka 4 brokers dropped the oldest request versions; 3.6 is well inside what they accept.
var defaultVersion = sarama.V3_6_0_0

// saramaConfig makes the client's config: the harness's settings, then the config fields the
// protocol owns (acks, idempotence, the transaction, the commit mode, the isolation level),
// then the scenario's properties by sarama's own names, then sarama's own validation.
func saramaConfig(c *Config) (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.Version = defaultVersion
	sc.ClientID = fmt.Sprintf("kafka-chaos-%s-%d", c.Role, c.id)
	if c.producing {
		// Every message gets a report: the protocol needs one outcome per seq.
		sc.Producer.Return.Successes = true
		sc.Producer.Return.Errors = true
		switch c.acks {
		case "0":
			sc.Producer.RequiredAcks = sarama.NoResponse
		case "1":
			sc.Producer.RequiredAcks = sarama.WaitForLocal
		case "all":
			sc.Producer.RequiredAcks = sarama.WaitForAll
		}
		if (c.Idempotence != nil && *c.Idempotence) || c.Transaction != nil {
			// What sarama's Config.Validate requires of an idempotent producer (config.go), which
			// a transactional one is; Version is at least V0_11_0_0 (defaultVersion).
			sc.Producer.Idempotent = true
			sc.Producer.RequiredAcks = sarama.WaitForAll
			sc.Net.MaxOpenRequests = 1
			sc.Producer.Retry.Max = max(sc.Producer.Retry.Max, 1)
		}
		if t := c.Transaction; t != nil {
			// NewAsyncProducer then gets the producer id and epoch of this transactional id
			// (InitProducerId), fencing any earlier producer with it, before `ready`.
			sc.Producer.Transaction.ID = t.ID
			sc.Producer.Transaction.Timeout = time.Duration(t.TimeoutMs) * time.Millisecond
		}
		if c.routing.explicit() {
			// The worker sets each message's partition; only the manual partitioner keeps it.
			sc.Producer.Partitioner = sarama.NewManualPartitioner
		} else {
			sc.Producer.Partitioner = sarama.NewHashPartitioner
		}
	} else {
		// The harness's consumer settings (docs/worker-protocol.md): the earliest offset of a
		// new group, session 6 s, heartbeat 1 s; errors on Errors() so they become lines.
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
		sc.Consumer.Group.Session.Timeout = 6 * time.Second
		sc.Consumer.Group.Heartbeat.Interval = time.Second
		sc.Consumer.Return.Errors = true
		// The config's isolation; properties (Consumer.IsolationLevel) still win.
		switch c.Isolation {
		case "read_committed":
			sc.Consumer.IsolationLevel = sarama.ReadCommitted
		case "read_uncommitted":
			sc.Consumer.IsolationLevel = sarama.ReadUncommitted
		}
	}
	if err := applySecurity(sc, c.Security); err != nil {
		return nil, err
	}
	if err := applySettings(sc, c.Properties); err != nil {
		return nil, err
	}
	if c.producing {
		if p, ok := c.Properties["Producer.Partitioner"]; ok && c.routing.explicit() && p != "manual" {
			return nil, invalid("sarama setting Producer.Partitioner: routing %q sets each message's partition, which only the manual partitioner keeps; use routing \"hash\" to choose a partitioner", c.Routing)
		}
	} else {
		// The commit mode decides auto-commit (it may not be set through properties).
		sc.Consumer.Offsets.AutoCommit.Enable = c.commit != commitManualSync
	}
	if err := sc.Validate(); err != nil {
		return nil, invalid("sarama settings: %v", err)
	}
	return sc, nil
}
