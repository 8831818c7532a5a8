package main

// The scenario's `properties`: sarama.Config fields by their dotted Go field path, from an
// explicit table (not reflection over everything), each with the kind of value it takes. The
// table is also written to settings.txt (`<name> <kind>`, sorted), which the Rust side checks
// scenario files against; settings_test.go keeps the two identical.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// setting is one supported name: its kind (int, duration, bool, string or one-of:a|b|c) and
// how a value is applied.
type setting struct {
	kind string
	set  func(c *sarama.Config, value string) error
}

func intSetting(field func(c *sarama.Config) *int) setting {
	return setting{kind: "int", set: func(c *sarama.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*field(c) = int(n)
		return nil
	}}
}

func int32Setting(field func(c *sarama.Config) *int32) setting {
	return setting{kind: "int", set: func(c *sarama.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not an integer from %d to %d", v, math.MinInt32, math.MaxInt32)
		}
		*field(c) = int32(n)
		return nil
	}}
}

func int64Setting(field func(c *sarama.Config) *int64) setting {
	return setting{kind: "int", set: func(c *sarama.Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*field(c) = n
		return nil
	}}
}

func durationSetting(field func(c *sarama.Config) *time.Duration) setting {
	return setting{kind: "duration", set: func(c *sarama.Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration (Go's syntax, with a unit: \"250ms\", \"1s\", \"1m30s\")", v)
		}
		*field(c) = d
		return nil
	}}
}

func boolSetting(field func(c *sarama.Config) *bool) setting {
	return setting{kind: "bool", set: func(c *sarama.Config, v string) error {
		switch strings.TrimSpace(v) {
		case "true":
			*field(c) = true
		case "false":
			*field(c) = false
		default:
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	}}
}

func stringSetting(field func(c *sarama.Config) *string) setting {
	return setting{kind: "string", set: func(c *sarama.Config, v string) error {
		*field(c) = v
		return nil
	}}
}

// oneOf: a value from a fixed set, each naming what it sets.
func oneOf(choices map[string]func(c *sarama.Config)) setting {
	names := make([]string, 0, len(choices))
	for name := range choices {
		names = append(names, name)
	}
	sort.Strings(names)
	kind := "one-of:" + strings.Join(names, "|")
	return setting{kind: kind, set: func(c *sarama.Config, v string) error {
		apply, ok := choices[v]
		if !ok {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(names, ", "))
		}
		apply(c)
		return nil
	}}
}

// settings is every name the worker accepts in `properties`.
var settings = map[string]setting{
	"ClientID":          stringSetting(func(c *sarama.Config) *string { return &c.ClientID }),
	"RackID":            stringSetting(func(c *sarama.Config) *string { return &c.RackID }),
	"ChannelBufferSize": intSetting(func(c *sarama.Config) *int { return &c.ChannelBufferSize }),
	"Version": {kind: "string", set: func(c *sarama.Config, v string) error {
		version, err := sarama.ParseKafkaVersion(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a Kafka version (\"3.6.0\"): %v", v, err)
		}
		c.Version = version
		return nil
	}},

	"Net.MaxOpenRequests": intSetting(func(c *sarama.Config) *int { return &c.Net.MaxOpenRequests }),
	"Net.DialTimeout":     durationSetting(func(c *sarama.Config) *time.Duration { return &c.Net.DialTimeout }),
	"Net.ReadTimeout":     durationSetting(func(c *sarama.Config) *time.Duration { return &c.Net.ReadTimeout }),
	"Net.WriteTimeout":    durationSetting(func(c *sarama.Config) *time.Duration { return &c.Net.WriteTimeout }),
	"Net.KeepAlive":       durationSetting(func(c *sarama.Config) *time.Duration { return &c.Net.KeepAlive }),

	"Metadata.Retry.Max":        intSetting(func(c *sarama.Config) *int { return &c.Metadata.Retry.Max }),
	"Metadata.Retry.Backoff":    durationSetting(func(c *sarama.Config) *time.Duration { return &c.Metadata.Retry.Backoff }),
	"Metadata.RefreshFrequency": durationSetting(func(c *sarama.Config) *time.Duration { return &c.Metadata.RefreshFrequency }),
	"Metadata.Full":             boolSetting(func(c *sarama.Config) *bool { return &c.Metadata.Full }),
	"Metadata.Timeout":          durationSetting(func(c *sarama.Config) *time.Duration { return &c.Metadata.Timeout }),

	"Producer.MaxMessageBytes":  intSetting(func(c *sarama.Config) *int { return &c.Producer.MaxMessageBytes }),
	"Producer.Timeout":          durationSetting(func(c *sarama.Config) *time.Duration { return &c.Producer.Timeout }),
	"Producer.CompressionLevel": intSetting(func(c *sarama.Config) *int { return &c.Producer.CompressionLevel }),
	"Producer.Compression": oneOf(map[string]func(c *sarama.Config){
		"none":   func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionNone },
		"gzip":   func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionGZIP },
		"snappy": func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionSnappy },
		"lz4":    func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionLZ4 },
		"zstd":   func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionZSTD },
	}),
	"Producer.Partitioner": oneOf(map[string]func(c *sarama.Config){
		"hash":       func(c *sarama.Config) { c.Producer.Partitioner = sarama.NewHashPartitioner },
		"random":     func(c *sarama.Config) { c.Producer.Partitioner = sarama.NewRandomPartitioner },
		"roundrobin": func(c *sarama.Config) { c.Producer.Partitioner = sarama.NewRoundRobinPartitioner },
		"manual":     func(c *sarama.Config) { c.Producer.Partitioner = sarama.NewManualPartitioner },
		"reference":  func(c *sarama.Config) { c.Producer.Partitioner = sarama.NewReferenceHashPartitioner },
	}),
	"Producer.Flush.Bytes":           intSetting(func(c *sarama.Config) *int { return &c.Producer.Flush.Bytes }),
	"Producer.Flush.Messages":        intSetting(func(c *sarama.Config) *int { return &c.Producer.Flush.Messages }),
	"Producer.Flush.Frequency":       durationSetting(func(c *sarama.Config) *time.Duration { return &c.Producer.Flush.Frequency }),
	"Producer.Flush.MaxMessages":     intSetting(func(c *sarama.Config) *int { return &c.Producer.Flush.MaxMessages }),
	"Producer.Retry.Max":             intSetting(func(c *sarama.Config) *int { return &c.Producer.Retry.Max }),
	"Producer.Retry.Backoff":         durationSetting(func(c *sarama.Config) *time.Duration { return &c.Producer.Retry.Backoff }),
	"Producer.Retry.MaxBufferLength": intSetting(func(c *sarama.Config) *int { return &c.Producer.Retry.MaxBufferLength }),
	"Producer.Retry.MaxBufferBytes":  int64Setting(func(c *sarama.Config) *int64 { return &c.Producer.Retry.MaxBufferBytes }),

	"Consumer.Group.Session.Timeout":     durationSetting(func(c *sarama.Config) *time.Duration { return &c.Consumer.Group.Session.Timeout }),
	"Consumer.Group.Heartbeat.Interval":  durationSetting(func(c *sarama.Config) *time.Duration { return &c.Consumer.Group.Heartbeat.Interval }),
	"Consumer.Group.Rebalance.Timeout":   durationSetting(func(c *sarama.Config) *time.Duration { return &c.Consumer.Group.Rebalance.Timeout }),
	"Consumer.Group.Rebalance.Retry.Max": intSetting(func(c *sarama.Config) *int { return &c.Consumer.Group.Rebalance.Retry.Max }),
	"Consumer.Group.Rebalance.Retry.Backoff": durationSetting(func(c *sarama.Config) *time.Duration {
		return &c.Consumer.Group.Rebalance.Retry.Backoff
	}),
	// Both sarama names of the assignor: the deprecated single Strategy (which takes precedence
	// when set) and the list GroupStrategies, here with one entry.
	"Consumer.Group.Rebalance.Strategy": oneOf(map[string]func(c *sarama.Config){
		"range":      func(c *sarama.Config) { c.Consumer.Group.Rebalance.Strategy = sarama.NewBalanceStrategyRange() },
		"roundrobin": func(c *sarama.Config) { c.Consumer.Group.Rebalance.Strategy = sarama.NewBalanceStrategyRoundRobin() },
		"sticky":     func(c *sarama.Config) { c.Consumer.Group.Rebalance.Strategy = sarama.NewBalanceStrategySticky() },
	}),
	"Consumer.Group.Rebalance.GroupStrategies": oneOf(map[string]func(c *sarama.Config){
		"range": func(c *sarama.Config) {
			c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
		},
		"roundrobin": func(c *sarama.Config) {
			c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
		},
		"sticky": func(c *sarama.Config) {
			c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
		},
	}),
	"Consumer.Group.ResetInvalidOffsets": boolSetting(func(c *sarama.Config) *bool { return &c.Consumer.Group.ResetInvalidOffsets }),
	"Consumer.Retry.Backoff":             durationSetting(func(c *sarama.Config) *time.Duration { return &c.Consumer.Retry.Backoff }),
	"Consumer.Retry.Max":                 intSetting(func(c *sarama.Config) *int { return &c.Consumer.Retry.Max }),
	"Consumer.Fetch.Min":                 int32Setting(func(c *sarama.Config) *int32 { return &c.Consumer.Fetch.Min }),
	"Consumer.Fetch.Default":             int32Setting(func(c *sarama.Config) *int32 { return &c.Consumer.Fetch.Default }),
	"Consumer.Fetch.Max":                 int32Setting(func(c *sarama.Config) *int32 { return &c.Consumer.Fetch.Max }),
	"Consumer.Fetch.MaxBytes":            int32Setting(func(c *sarama.Config) *int32 { return &c.Consumer.Fetch.MaxBytes }),
	"Consumer.MaxWaitTime":               durationSetting(func(c *sarama.Config) *time.Duration { return &c.Consumer.MaxWaitTime }),
	"Consumer.MaxProcessingTime":         durationSetting(func(c *sarama.Config) *time.Duration { return &c.Consumer.MaxProcessingTime }),
	"Consumer.Offsets.AutoCommit.Interval": durationSetting(func(c *sarama.Config) *time.Duration {
		return &c.Consumer.Offsets.AutoCommit.Interval
	}),
	"Consumer.Offsets.Initial": oneOf(map[string]func(c *sarama.Config){
		"oldest": func(c *sarama.Config) { c.Consumer.Offsets.Initial = sarama.OffsetOldest },
		"newest": func(c *sarama.Config) { c.Consumer.Offsets.Initial = sarama.OffsetNewest },
	}),
	"Consumer.Offsets.Retry.Max": intSetting(func(c *sarama.Config) *int { return &c.Consumer.Offsets.Retry.Max }),
	"Consumer.IsolationLevel": oneOf(map[string]func(c *sarama.Config){
		"read_uncommitted": func(c *sarama.Config) { c.Consumer.IsolationLevel = sarama.ReadUncommitted },
		"read_committed":   func(c *sarama.Config) { c.Consumer.IsolationLevel = sarama.ReadCommitted },
	}),
}

// ownedSettings are sarama names (and the usual names of the connection fields) that the
// config's own fields or the worker decide: setting them through properties is a config error
// naming what to use instead.
var ownedSettings = map[string]string{
	"Producer.RequiredAcks":              "the config field \"acks\"",
	"Producer.Idempotent":                "the config field \"idempotence\"",
	"Producer.Transaction.ID":            "the config field \"transaction\" (its id)",
	"Producer.Transaction.Timeout":       "the config field \"transaction\" (its timeout_ms)",
	"Consumer.Offsets.AutoCommit.Enable": "the config field \"commit\" (the commit mode decides auto-commit)",
	"Producer.Return.Successes":          "nothing: the worker needs every delivery report",
	"Producer.Return.Errors":             "nothing: the worker needs every delivery report",
	"Consumer.Return.Errors":             "nothing: the worker reports consumer errors as error lines",
	"Brokers":                            "the config field \"bootstrap_servers\"",
	"bootstrap.servers":                  "the config field \"bootstrap_servers\"",
	"GroupID":                            "the config field \"group_id\"",
	"group.id":                           "the config field \"group_id\"",
	"Topic":                              "the config field \"topic\"",
	"topic":                              "the config field \"topic\"",
}

// applySettings sets every property, in name order; the first problem is a config error.
func applySettings(c *sarama.Config, properties map[string]string) error {
	names := make([]string, 0, len(properties))
	for name := range properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if use, owned := ownedSettings[name]; owned {
			return invalid("sarama setting %q cannot be set through properties; use %s", name, use)
		}
		s, ok := settings[name]
		if !ok {
			return invalid("unknown sarama setting %q", name)
		}
		if err := s.set(c, properties[name]); err != nil {
			return invalid("sarama setting %s: %v", name, err)
		}
	}
	return nil
}

// settingsText is the content of settings.txt: `<name> <kind>` per line, sorted by name.
func settingsText() string {
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "%s %s\n", name, settings[name].kind)
	}
	return b.String()
}
