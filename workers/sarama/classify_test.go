package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
)

func expect(t *testing.T, err error, outcome, why string) {
	t.Helper()
	for _, idempotent := range []bool{false, true} {
		expectWith(t, err, idempotent, outcome, why)
	}
}

func expectWith(t *testing.T, err error, idempotent bool, outcome, why string) {
	t.Helper()
	gotOutcome, gotWhy := classify(err, idempotent)
	if gotOutcome != outcome || gotWhy != why {
		t.Errorf("classify(%v, idempotent=%v) = %s (%s), want %s (%s)", err, idempotent, gotOutcome, gotWhy, outcome, why)
	}
}

func TestRule1ClientSideRefusalsFail(t *testing.T) {
	// What the dispatcher returns for a message over Producer.MaxMessageBytes.
	expect(t, sarama.ConfigurationError("Attempt to produce message larger than configured Producer.MaxMessageBytes: 2000 > 1000"), outcomeFailed, whyRefusedByClient)
	expect(t, sarama.ConfigurationError("Producing headers requires Kafka at least v0.11"), outcomeFailed, whyRefusedByClient)
}

func TestAnOpenBreakerIsUnknownItAlsoGuardsRetries(t *testing.T) {
	// partitionProducer.updateLeader on the retry path: flushRetryBuffers returns the whole
	// retry buffer with this error, messages a leader may have appended among them.
	expect(t, breaker.ErrBreakerOpen, outcomeUnknown, whyConnection)
	expect(t, fmt.Errorf("wrapped: %w", breaker.ErrBreakerOpen), outcomeUnknown, whyConnection)
}

func TestRejectionsThatARetryMayNotMeetAreUnknown(t *testing.T) {
	// The broker's clock: an early attempt accepted, a retry rejected.
	expect(t, sarama.ErrInvalidTimestamp, outcomeUnknown, whyMayDifferByRetry)
	// A retried message is rebuilt into a new batch without idempotence.
	for _, k := range []sarama.KError{sarama.ErrMessageSizeTooLarge, sarama.ErrMessageSetSizeTooLarge} {
		expectWith(t, k, false, outcomeUnknown, whyMayDifferByRetry)
		expectWith(t, k, true, outcomeFailed, whyRejectedByBroker)
	}
}

func TestRule2NoSuchPartitionFails(t *testing.T) {
	expect(t, sarama.ErrInvalidPartition, outcomeFailed, whyInvalidPartition)
}

func TestRule3EncodingErrorsFail(t *testing.T) {
	expect(t, sarama.PacketEncodingError{Info: "unsupported compression codec (9)"}, outcomeFailed, whyNotEncoded)
	expect(t, fmt.Errorf("wrapped: %w", sarama.PacketEncodingError{Info: "invalid request size (2147483648)"}), outcomeFailed, whyNotEncoded)
}

func TestRule4BrokerRejectionsOfTheMessageFail(t *testing.T) {
	for _, k := range []sarama.KError{
		sarama.ErrInvalidMessageSize,
		sarama.ErrInvalidTopic, sarama.ErrInvalidRequiredAcks, sarama.ErrInvalidRecord,
		sarama.ErrUnsupportedForMessageFormat, sarama.ErrUnsupportedCompressionType,
		sarama.ErrTopicAuthorizationFailed, sarama.ErrClusterAuthorizationFailed, sarama.ErrPolicyViolation,
	} {
		expect(t, k, outcomeFailed, whyRejectedByBroker)
	}
}

func TestRule5CorruptMessagesAreUnknown(t *testing.T) {
	expect(t, sarama.ErrInvalidMessage, outcomeUnknown, whyCorrupt)
}

func TestRule6ShuttingDownIsUnknown(t *testing.T) {
	expect(t, sarama.ErrShuttingDown, outcomeUnknown, whyShuttingDown)
}

func TestRule7RetriableBrokerErrorsAreUnknown(t *testing.T) {
	for _, k := range []sarama.KError{
		sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrNotEnoughReplicas,
		sarama.ErrNotEnoughReplicasAfterAppend, sarama.ErrRequestTimedOut, sarama.ErrKafkaStorageError,
		sarama.ErrUnknownTopicOrPartition,
	} {
		expect(t, k, outcomeUnknown, whyRetriesExhausted)
	}
}

func TestRule8IdempotenceErrorsAreUnknown(t *testing.T) {
	expect(t, sarama.ErrOutOfOrderSequenceNumber, outcomeUnknown, whyIdempotence)
	expect(t, sarama.ErrUnknownProducerID, outcomeUnknown, whyIdempotence)
	expect(t, sarama.ErrInvalidProducerEpoch, outcomeUnknown, whyIdempotence)
}

func TestRule9ConnectionErrorsAreUnknown(t *testing.T) {
	for _, err := range []error{
		sarama.ErrOutOfBrokers,
		sarama.ErrNotConnected,
		io.EOF,
		io.ErrUnexpectedEOF,
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		fmt.Errorf("write: %w", syscall.EPIPE),
		&net.DNSError{Err: "timeout", IsTimeout: true},
		sarama.PacketDecodingError{Info: "insufficient data"},
	} {
		expect(t, err, outcomeUnknown, whyConnection)
	}
}

func TestRule10EverythingElseIsUnknown(t *testing.T) {
	expect(t, errors.New("something new"), outcomeUnknown, whyDoesNotRuleOut)
	expect(t, sarama.ErrIncompleteResponse, outcomeUnknown, whyDoesNotRuleOut)
	expect(t, sarama.ErrUnknown, outcomeUnknown, whyDoesNotRuleOut)
}
