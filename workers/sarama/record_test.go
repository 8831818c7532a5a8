package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRecordRoundTripWithPadding(t *testing.T) {
	enc, err := newEncoder("run-1", 3, 256)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{0, 1, 99, ^uint64(0)} {
		key, value := enc.encode(seq)
		if want := "3-" + uintText(seq); key != want {
			t.Errorf("key %q, want %q", key, want)
		}
		if len(value) != 256 {
			t.Errorf("value of seq %d is %d bytes, want 256", seq, len(value))
		}
		prefix := "kc1|run-1|3|" + uintText(seq) + "|"
		if !bytes.HasPrefix(value, []byte(prefix)) {
			t.Errorf("value %q does not start with %q", value[:30], prefix)
		}
		for _, b := range value[len(prefix):] {
			if b < 'a' || b > 'z' {
				t.Fatalf("padding byte %q is not a lowercase letter", b)
			}
		}
		if d := decodeValue("run-1", value); !d.ours || d.producer != 3 || d.seq != seq {
			t.Errorf("decoded %+v, want ours producer 3 seq %d", d, seq)
		}
	}
}

func uintText(n uint64) string {
	var b []byte
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestIDsLongerThanThePayloadAreKeptWhole(t *testing.T) {
	enc, _ := newEncoder("r", 4_000_000_000, 4)
	_, value := enc.encode(12345)
	if string(value) != "kc1|r|4000000000|12345|" {
		t.Fatalf("value %q", value)
	}
	if d := decodeValue("r", value); !d.ours || d.producer != 4_000_000_000 || d.seq != 12345 {
		t.Fatalf("decoded %+v", d)
	}
}

func TestEncodeReturnsFreshSlices(t *testing.T) {
	enc, _ := newEncoder("r", 1, 32)
	_, a := enc.encode(1)
	_, b := enc.encode(2)
	if bytes.Equal(a, b) || !bytes.HasPrefix(a, []byte("kc1|r|1|1|")) {
		t.Fatalf("the first value changed when the second was encoded: %q %q", a, b)
	}
}

func TestOtherRunsAndForeignRecordsAreToldApart(t *testing.T) {
	enc, _ := newEncoder("old", 1, 64)
	_, value := enc.encode(7)
	d := decodeValue("new", value)
	if d.ours || d.detail != "run old producer 1 seq 7" {
		t.Fatalf("another run's record decoded as %+v", d)
	}
	for _, junk := range []string{
		"", "hello", "kc1|", "kc1|r|1|", "kc1|r|1|2", "kc1|r|x|2|", "kc1||1|2|",
		"kc1|r|1|99999999999999999999999|", "kc1|r|4294967296|1|", "kc1|r|-1|2|",
	} {
		if d := decodeValue("r", []byte(junk)); d.ours || d.detail != "not written by kafka-chaos" {
			t.Errorf("%q decoded as %+v", junk, d)
		}
	}
	if d := decodeValue("r", nil); d.ours {
		t.Errorf("a record without a value decoded as ours")
	}
	if d := decodeValue("r", []byte("kc1|r|1|2|")); !d.ours || d.producer != 1 || d.seq != 2 {
		t.Errorf("decoded %+v", d)
	}
}

func TestRunIDsMustFitBetweenSeparators(t *testing.T) {
	if err := validateRunID("20250101-abc_1.x"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a|b", "with space", strings.Repeat("x", 65)} {
		if validateRunID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := newEncoder("a|b", 0, 10); err == nil {
		t.Error("an encoder accepted a run id with a separator")
	}
}

func TestPaddingIsTextLikeNotOneByte(t *testing.T) {
	enc, _ := newEncoder("r", 1, 200)
	_, value := enc.encode(1)
	distinct := map[byte]bool{}
	for _, b := range value[20:] {
		distinct[b] = true
	}
	if len(distinct) <= 10 {
		t.Fatalf("only %d distinct padding letters", len(distinct))
	}
}
