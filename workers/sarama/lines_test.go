package main

import (
	"encoding/json"
	"testing"
	"time"
)

// The shapes of docs/worker-protocol.md (and of src/workload/protocol.rs's test).
func TestLinesHaveTheDocumentedShape(t *testing.T) {
	p, offset := int32(0), int64(345)
	cases := []struct {
		line any
		want string
	}{
		{sendingLine{Type: "sending", Seq: 12, Partition: &p}, `{"type":"sending","seq":12,"partition":0}`},
		{sendingLine{Type: "sending", Seq: 12}, `{"type":"sending","seq":12}`},
		{outcomeLine{Type: "outcome", Seq: 12, Outcome: outcomeAcked, Partition: &p, Offset: &offset, LatencyMs: latencyMs(3200 * time.Microsecond)},
			`{"type":"outcome","seq":12,"outcome":"acked","partition":0,"offset":345,"latency_ms":3.2}`},
		{outcomeLine{Type: "outcome", Seq: 14, Outcome: outcomeUnknown, Error: "e", Why: whyNoReportByTheEnd},
			`{"type":"outcome","seq":14,"outcome":"unknown","error":"e","why":"no report by the end"}`},
		{rebalanceLine{Type: "rebalance", Kind: "assign", Partitions: []int32{}}, `{"type":"rebalance","kind":"assign","partitions":[]}`},
		{processedLine{Type: "processed", Producer: 1, Seq: 2, Partition: 0, Offset: 7}, `{"type":"processed","producer":1,"seq":2,"partition":0,"offset":7}`},
		{committingLine{Type: "committing", Partition: 0, Offset: 346}, `{"type":"committing","partition":0,"offset":346}`},
		{commitLine{Type: "commit", Partition: 2, Offset: 8}, `{"type":"commit","partition":2,"offset":8}`},
		{stoppedLine{Type: "stopped"}, `{"type":"stopped"}`},
		{txnBeginLine{Type: "txn_begin", FirstSeq: 50}, `{"type":"txn_begin","first_seq":50}`},
		{txnEndLine{Type: "txn_end", FirstSeq: 50, LastSeq: 59, Outcome: outcomeCommitted}, `{"type":"txn_end","first_seq":50,"last_seq":59,"outcome":"committed"}`},
		{txnEndLine{Type: "txn_end", FirstSeq: 60, LastSeq: 69, Outcome: outcomeAborted, Why: whyAbortedOnPurpose},
			`{"type":"txn_end","first_seq":60,"last_seq":69,"outcome":"aborted","why":"aborted on purpose"}`},
		{txnEndLine{Type: "txn_end", FirstSeq: 70, LastSeq: 71, Outcome: outcomeUnknown, Error: "e", Why: whyCommitFatal},
			`{"type":"txn_end","first_seq":70,"last_seq":71,"outcome":"unknown","error":"e","why":"` + whyCommitFatal + `"}`},
	}
	for _, c := range cases {
		got, _ := json.Marshal(c.line)
		if string(got) != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

// Each line is one Write ending in a newline; nothing is written after `stopped`.
func TestOutWritesWholeLinesAndNothingAfterStopped(t *testing.T) {
	var writes [][]byte
	out := newOut(writerFunc(func(b []byte) (int, error) {
		writes = append(writes, append([]byte(nil), b...))
		return len(b), nil
	}))
	out.emit(errorLine{Type: "error", Message: "2039 > 1000"})
	out.stopped(nil)
	out.emit(errorLine{Type: "error", Message: "late"})
	if len(writes) != 2 || string(writes[0]) != "{\"type\":\"error\",\"message\":\"2039 > 1000\"}\n" || string(writes[1]) != "{\"type\":\"stopped\"}\n" {
		t.Fatalf("writes %q", writes)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
