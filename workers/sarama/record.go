package main

// How a message says who wrote it (docs/worker-protocol.md, "Messages"; the Rust side is
// src/workload/record.rs): the value starts with `kc1|<run>|<producer>|<seq>|` and is padded to
// `payload_bytes` with lowercase letters; the key is `<producer>-<seq>`.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"unicode/utf8"
)

// magic marks a value written by kafka-chaos, version 1 of the layout.
const magic = "kc1|"

// validateRunID: a run id goes between separators in every value.
func validateRunID(run string) error {
	ok := len(run) >= 1 && len(run) <= 64
	for i := 0; ok && i < len(run); i++ {
		b := run[i]
		ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' || b == '_' || b == '.'
	}
	if !ok {
		return fmt.Errorf("run id %q cannot be written into messages; use 1 to 64 letters, digits, '-', '_' or '.'", run)
	}
	return nil
}

// encoder builds the key and value of each message of one producer.
type encoder struct {
	producer     uint32
	prefix       []byte
	padding      []byte
	payloadBytes int
}

func newEncoder(run string, producer uint32, payloadBytes int) (*encoder, error) {
	if err := validateRunID(run); err != nil {
		return nil, err
	}
	if payloadBytes < 0 {
		payloadBytes = 0
	}
	prefix := []byte(magic + run + "|" + strconv.FormatUint(uint64(producer), 10) + "|")
	// Random letters drawn once per producer (seeded by its id), so compression sees text-like
	// data rather than one repeated byte.
	rng := rand.New(rand.NewPCG(uint64(producer), 0x6b6331))
	padding := make([]byte, payloadBytes)
	for i := range padding {
		padding[i] = byte('a' + rng.IntN(26))
	}
	return &encoder{producer: producer, prefix: prefix, padding: padding, payloadBytes: payloadBytes}, nil
}

// encode returns the key and value of message seq. The value is payload_bytes long, or just the
// ids when those alone are longer. Each call returns fresh slices (sarama keeps them until the
// message's report).
func (e *encoder) encode(seq uint64) (string, []byte) {
	key := strconv.FormatUint(uint64(e.producer), 10) + "-" + strconv.FormatUint(seq, 10)
	size := max(e.payloadBytes, len(e.prefix)+21)
	value := make([]byte, 0, size)
	value = append(value, e.prefix...)
	value = strconv.AppendUint(value, seq, 10)
	value = append(value, '|')
	if fill := e.payloadBytes - len(value); fill > 0 {
		value = append(value, e.padding[:fill]...)
	}
	return key, value
}

// recordID is what one value says about who wrote it.
type recordID struct {
	run      string
	producer uint32
	seq      uint64
}

// parseValue reads the ids at the front of a value; ok is false when it is not one of ours.
func parseValue(value []byte) (id recordID, ok bool) {
	rest, found := bytes.CutPrefix(value, []byte(magic))
	if !found {
		return id, false
	}
	fields := bytes.SplitN(rest, []byte("|"), 4)
	// The third separator must be there: a value cut short after the seq is damaged.
	if len(fields) < 4 || len(fields[0]) == 0 || !utf8.Valid(fields[0]) {
		return id, false
	}
	producer, ok1 := parseDigits(fields[1])
	seq, ok2 := parseDigits(fields[2])
	if !ok1 || !ok2 || producer > 0xFFFFFFFF {
		return id, false
	}
	return recordID{run: string(fields[0]), producer: uint32(producer), seq: seq}, true
}

func parseDigits(digits []byte) (uint64, bool) {
	if len(digits) == 0 || len(digits) > 20 {
		return 0, false
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	return n, err == nil
}

// decoded is what a consumer makes of a record: ours (producer and seq), or foreign with a detail.
type decoded struct {
	ours     bool
	producer uint32
	seq      uint64
	detail   string
}

// decodeValue classifies a record's value against this run: ours, another run's (foreign, with
// its ids in the detail), or not written by kafka-chaos at all (foreign).
func decodeValue(run string, value []byte) decoded {
	id, ok := parseValue(value)
	switch {
	case !ok:
		return decoded{detail: "not written by kafka-chaos"}
	case id.run == run:
		return decoded{ours: true, producer: id.producer, seq: id.seq}
	default:
		return decoded{detail: fmt.Sprintf("run %s producer %d seq %d", id.run, id.producer, id.seq)}
	}
}
