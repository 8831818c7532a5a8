package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

var update = flag.Bool("update", false, "rewrite settings.txt from the settings table")

// settings.txt must list exactly the table: the Rust side validates scenario files with it.
// `go test -run TestSettingsFile -update` rewrites it.
func TestSettingsFileMatchesTheTable(t *testing.T) {
	want := settingsText()
	if *update {
		if err := os.WriteFile("settings.txt", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("settings.txt")
	if err != nil {
		t.Fatalf("settings.txt: %v (`go test -run TestSettingsFile -update` writes it)", err)
	}
	if string(got) != want {
		t.Fatalf("settings.txt differs from the table; `go test -run TestSettingsFile -update` rewrites it.\nwant:\n%s\ngot:\n%s", want, got)
	}
	lines := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	if len(lines) != len(settings) {
		t.Fatalf("%d lines for %d settings", len(lines), len(settings))
	}
	for _, line := range lines {
		name, kind, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(kind, " ") {
			t.Errorf("line %q is not `<name> <kind>`", line)
		}
		switch {
		case kind == "int", kind == "duration", kind == "bool", kind == "string":
		case strings.HasPrefix(kind, "one-of:") && len(kind) > len("one-of:"):
		default:
			t.Errorf("%s: kind %q", name, kind)
		}
	}
}

func TestEverySettingAcceptsAValueOfItsKindAndRefusesOthers(t *testing.T) {
	good := map[string]string{"int": "7", "duration": "250ms", "bool": "true", "string": "x"}
	bad := map[string]string{"int": "seven", "duration": "250", "bool": "yes"}
	for name, s := range settings {
		value := good[s.kind]
		if name == "Version" {
			value = "3.7.0"
		}
		if choices, ok := strings.CutPrefix(s.kind, "one-of:"); ok {
			for _, choice := range strings.Split(choices, "|") {
				if err := applySettings(sarama.NewConfig(), map[string]string{name: choice}); err != nil {
					t.Errorf("%s = %q: %v", name, choice, err)
				}
			}
			value = ""
			if err := applySettings(sarama.NewConfig(), map[string]string{name: "nonsense"}); err == nil ||
				!strings.HasPrefix(err.Error(), "sarama setting "+name+": ") || !isConfigError(err) {
				t.Errorf("%s = nonsense: %v", name, err)
			}
		}
		if value != "" {
			if err := applySettings(sarama.NewConfig(), map[string]string{name: value}); err != nil {
				t.Errorf("%s = %q: %v", name, value, err)
			}
		}
		if b, ok := bad[s.kind]; ok {
			err := applySettings(sarama.NewConfig(), map[string]string{name: b})
			if err == nil || !strings.HasPrefix(err.Error(), "sarama setting "+name+": ") {
				t.Errorf("%s = %q: %v", name, b, err)
			}
		}
	}
}

func TestSettingsSetTheirFields(t *testing.T) {
	c := sarama.NewConfig()
	err := applySettings(c, map[string]string{
		"Producer.Retry.Max":                       "3",
		"Producer.Retry.Backoff":                   "100ms",
		"Producer.Timeout":                         "10s",
		"Producer.Flush.Frequency":                 "5ms",
		"Producer.Flush.Messages":                  "10",
		"Producer.MaxMessageBytes":                 "2000",
		"Producer.Compression":                     "zstd",
		"Net.MaxOpenRequests":                      "1",
		"Net.DialTimeout":                          "2s",
		"Consumer.Offsets.AutoCommit.Interval":     "1s",
		"Consumer.Offsets.Initial":                 "newest",
		"Consumer.Group.Rebalance.GroupStrategies": "sticky",
		"Consumer.Fetch.Default":                   "65536",
		"Consumer.MaxProcessingTime":               "300ms",
		"Metadata.Retry.Max":                       "5",
		"Metadata.Retry.Backoff":                   "50ms",
		"Metadata.Full":                            "false",
		"Version":                                  "3.6.0",
		"ClientID":                                 "me",
		"Producer.Retry.MaxBufferBytes":            "1048576",
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Producer.Retry.Max", c.Producer.Retry.Max, 3},
		{"Producer.Retry.Backoff", c.Producer.Retry.Backoff, 100 * time.Millisecond},
		{"Producer.Timeout", c.Producer.Timeout, 10 * time.Second},
		{"Producer.Flush.Frequency", c.Producer.Flush.Frequency, 5 * time.Millisecond},
		{"Producer.Flush.Messages", c.Producer.Flush.Messages, 10},
		{"Producer.MaxMessageBytes", c.Producer.MaxMessageBytes, 2000},
		{"Producer.Compression", c.Producer.Compression, sarama.CompressionZSTD},
		{"Net.MaxOpenRequests", c.Net.MaxOpenRequests, 1},
		{"Net.DialTimeout", c.Net.DialTimeout, 2 * time.Second},
		{"Consumer.Offsets.AutoCommit.Interval", c.Consumer.Offsets.AutoCommit.Interval, time.Second},
		{"Consumer.Offsets.Initial", c.Consumer.Offsets.Initial, sarama.OffsetNewest},
		{"Consumer.Group.Rebalance.GroupStrategies", c.Consumer.Group.Rebalance.GroupStrategies[0].Name(), sarama.StickyBalanceStrategyName},
		{"Consumer.Fetch.Default", c.Consumer.Fetch.Default, int32(65536)},
		{"Consumer.MaxProcessingTime", c.Consumer.MaxProcessingTime, 300 * time.Millisecond},
		{"Metadata.Retry.Max", c.Metadata.Retry.Max, 5},
		{"Metadata.Retry.Backoff", c.Metadata.Retry.Backoff, 50 * time.Millisecond},
		{"Metadata.Full", c.Metadata.Full, false},
		{"Version", c.Version, sarama.V3_6_0_0},
		{"ClientID", c.ClientID, "me"},
		{"Producer.Retry.MaxBufferBytes", c.Producer.Retry.MaxBufferBytes, int64(1048576)},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
	for name, want := range map[string]string{
		"hash":       "*sarama.hashPartitioner",
		"reference":  "*sarama.hashPartitioner",
		"roundrobin": "*sarama.roundRobinPartitioner",
		"manual":     "*sarama.manualPartitioner",
		"random":     "*sarama.randomPartitioner",
	} {
		c := sarama.NewConfig()
		if err := applySettings(c, map[string]string{"Producer.Partitioner": name}); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", c.Producer.Partitioner("t")); got != want {
			t.Errorf("Producer.Partitioner = %s made a %s, want %s", name, got, want)
		}
	}
}

func TestUnknownAndOwnedSettingsAreConfigErrors(t *testing.T) {
	for name, want := range map[string]string{
		"linger.ms":                          `unknown sarama setting "linger.ms"`,
		"Producer.Transaction.ID":            `use the config field "transaction" (its id)`,
		"Producer.Transaction.Timeout":       `use the config field "transaction" (its timeout_ms)`,
		"Producer.RequiredAcks":              `use the config field "acks"`,
		"Producer.Idempotent":                `use the config field "idempotence"`,
		"Consumer.Offsets.AutoCommit.Enable": `use the config field "commit"`,
		"bootstrap.servers":                  `use the config field "bootstrap_servers"`,
		"group.id":                           `use the config field "group_id"`,
		"Topic":                              `use the config field "topic"`,
		"Producer.Return.Successes":          "the worker needs every delivery report",
	} {
		err := applySettings(sarama.NewConfig(), map[string]string{name: "1"})
		if err == nil || !isConfigError(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a config error containing %q", name, err, want)
		}
	}
	// Owned names are not in the table (the Rust side must not offer them).
	for name := range ownedSettings {
		if _, ok := settings[name]; ok {
			t.Errorf("%s is both settable and owned", name)
		}
	}
}
