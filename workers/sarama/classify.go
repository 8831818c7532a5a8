package main

// What an error report from sarama's AsyncProducer (a *sarama.ProducerError on Errors()) means
// for the message: it was definitely not written (`failed`), or it may have been (`unknown`).
// Jepsen's rule for indeterminate operations, as in the Rust worker (src/workload/classify.rs):
// `failed` only where the message itself is rejected the same way on every attempt, or sarama
// refused it before any broker saw it; `unknown` for everything else.
//
// sarama reports one error per message: the error of its LAST attempt. It retries the retriable
// broker errors and connection errors up to Producer.Retry.Max times (async_producer.go,
// brokerProducer.handleSuccess / handleError / retryMessage), and the application cannot tell
// how many attempts were made (ProducerMessage.retries is unexported). So an error only says
// "not written" when it would have been the answer to every attempt.
//
// The rules, each with a test in classify_test.go (the `why` of an outcome names its rule):
//
//  1. Refused by the client before sending (failed). sarama.ConfigurationError is what the
//     dispatcher returns for a message larger than Producer.MaxMessageBytes or with headers on a
//     pre-0.11 protocol version (async_producer.go, asyncProducer.dispatcher); it checks every
//     message before it reaches a topic, partition or broker producer, and a retry of a message
//     has the same size. sarama v1.61.1 does NOT raise ErrMessageSizeTooLarge client-side: the
//     size check is this ConfigurationError. NOT breaker.ErrBreakerOpen (rule 9): each partition
//     producer has its own breaker around leader lookups on the retry path too (updateLeader),
//     and flushRetryBuffers returns the whole retry buffer with it, messages a leader may have
//     appended before its reply was lost among them.
//  2. No such partition (failed). sarama.ErrInvalidPartition comes only from
//     topicProducer.partitionMessage, which runs only for a message's first attempt
//     (`if msg.retries == 0`), before it is sent: the partitioner (here the manual one, with the
//     worker's explicit partition) chose a partition the topic does not have.
//  3. The request could not be encoded (failed). A sarama.PacketEncodingError: Broker.sendInternal
//     encodes the request before writing a byte (broker.go), and brokerProducer.handleError fails
//     such a batch without retrying it ("a retry would fail the same way").
//  4. The broker rejected the message itself (failed): errors about the record, its format,
//     compression, the topic, the acks setting, or authorization, which sarama does not retry
//     (handleSuccess's default branch) and which hold for every attempt of the same message.
//     Not INVALID_TIMESTAMP (rule 4b): the broker checks it against its own clock, so an early
//     attempt can be accepted and a retry rejected. MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE
//     are checked per batch, and without idempotence sarama rebuilds a retried message into a
//     new batch (retryBatch), so they hold for every attempt only with idempotence; without it
//     they are unknown too (rule 4b).
//  5. A corrupt message (ErrInvalidMessage, CORRUPT_MESSAGE) is unknown: sarama retries it (it is
//     in handleSuccess's retriable list), it reports a CRC mismatch in transit rather than
//     something about the message, and an earlier attempt may have been written.
//  6. The producer shut down with the message in a retry (ErrShuttingDown; retryBatch on done):
//     unknown, an earlier attempt may have been written.
//  7. Retriable broker errors after the last retry (not leader, leader not available, not enough
//     replicas, not enough replicas after append, request timed out, storage error, unknown topic
//     or partition): unknown. NOT_ENOUGH_REPLICAS_AFTER_APPEND means the leader did append it.
//     ErrUnknownTopicOrPartition and ErrLeaderNotAvailable are unknown although sarama also
//     raises them before a first attempt (partitionMessage's metadata lookup): the same values
//     come from produce responses after earlier attempts, and the error does not say which.
//  8. Idempotence errors (out of order sequence, unknown producer id, invalid producer epoch):
//     unknown, the broker may hold an earlier attempt.
//  9. Connection errors (ErrOutOfBrokers, ErrNotConnected, a closed connection, a network timeout,
//     a response that could not be decoded, an open circuit breaker around leader lookups):
//     unknown, the request (or an earlier attempt) may have reached the broker.
//  10. Everything else: unknown, the error does not rule out a write.

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
)

const (
	outcomeAcked   = "acked"
	outcomeFailed  = "failed"
	outcomeUnknown = "unknown"
)

const (
	whyRefusedByClient   = "rule 1: refused by sarama before it was sent (client-side check)"
	whyInvalidPartition  = "rule 2: no such partition; refused before it was sent"
	whyNotEncoded        = "rule 3: the request could not be encoded, so it was not sent"
	whyRejectedByBroker  = "rule 4: the broker rejected the message itself, the same for every attempt"
	whyMayDifferByRetry  = "rule 4b: rejected by this attempt, but a retry may have met another clock or batch; an earlier attempt may have been written"
	whyCorrupt           = "rule 5: corrupt in transit and retried by sarama; an earlier attempt may have been written"
	whyShuttingDown      = "rule 6: the producer shut down during a retry; an earlier attempt may have been written"
	whyRetriesExhausted  = "rule 7: a retriable broker error after the last retry; an earlier attempt may have been written"
	whyIdempotence       = "rule 8: an idempotence error; an earlier attempt may have been written"
	whyConnection        = "rule 9: a connection error; the request may have reached the broker"
	whyDoesNotRuleOut    = "rule 10: the error does not rule out a write"
	whyNoReportByTheEnd  = "no report by the end"
	whyNotHandedToClient = "never handed to the client: sending ended while sarama's input was full"
)

// batchRejections: rejections of the batch a message was in, the same for every attempt only
// when a retry resends the same batch (idempotence) (rule 4 / 4b).
var batchRejections = []sarama.KError{
	sarama.ErrMessageSizeTooLarge,    // MESSAGE_TOO_LARGE
	sarama.ErrMessageSetSizeTooLarge, // RECORD_LIST_TOO_LARGE
}

// rejectedByBroker: broker errors about the message itself (rule 4).
var rejectedByBroker = []sarama.KError{
	sarama.ErrInvalidMessageSize,          // INVALID_FETCH_SIZE (librdkafka's InvalidMessageSize)
	sarama.ErrInvalidTopic,                // INVALID_TOPIC_EXCEPTION
	sarama.ErrInvalidRequiredAcks,         // INVALID_REQUIRED_ACKS
	sarama.ErrInvalidRecord,               // INVALID_RECORD
	sarama.ErrUnsupportedForMessageFormat, // UNSUPPORTED_FOR_MESSAGE_FORMAT
	sarama.ErrUnsupportedCompressionType,  // UNSUPPORTED_COMPRESSION_TYPE
	sarama.ErrTopicAuthorizationFailed,    // TOPIC_AUTHORIZATION_FAILED
	sarama.ErrClusterAuthorizationFailed,  // CLUSTER_AUTHORIZATION_FAILED
	sarama.ErrPolicyViolation,             // POLICY_VIOLATION
}

// retriable: the broker errors sarama retries (async_producer.go, handleSuccess) (rule 7).
var retriable = []sarama.KError{
	sarama.ErrUnknownTopicOrPartition,
	sarama.ErrLeaderNotAvailable,
	sarama.ErrNotLeaderForPartition,
	sarama.ErrRequestTimedOut,
	sarama.ErrNotEnoughReplicas,
	sarama.ErrNotEnoughReplicasAfterAppend,
	sarama.ErrKafkaStorageError,
}

var idempotence = []sarama.KError{
	sarama.ErrOutOfOrderSequenceNumber,
	sarama.ErrUnknownProducerID,
	sarama.ErrInvalidProducerEpoch,
	sarama.ErrInvalidProducerIDMapping,
	sarama.ErrProducerFenced,
}

func isOneOf(err error, kerrors []sarama.KError) bool {
	for _, k := range kerrors {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// classify decides the outcome of a message sarama reported with err, and names the rule.
// idempotent: the producer resends a retried batch as it was (Producer.Idempotent).
func classify(err error, idempotent bool) (outcome, why string) {
	var configErr sarama.ConfigurationError
	var encodeErr sarama.PacketEncodingError
	var decodeErr sarama.PacketDecodingError
	var netErr net.Error
	switch {
	case errors.As(err, &configErr):
		return outcomeFailed, whyRefusedByClient
	case errors.Is(err, sarama.ErrInvalidPartition):
		return outcomeFailed, whyInvalidPartition
	case errors.As(err, &encodeErr):
		return outcomeFailed, whyNotEncoded
	case isOneOf(err, batchRejections) && idempotent:
		return outcomeFailed, whyRejectedByBroker
	case isOneOf(err, batchRejections), errors.Is(err, sarama.ErrInvalidTimestamp):
		return outcomeUnknown, whyMayDifferByRetry
	case isOneOf(err, rejectedByBroker):
		return outcomeFailed, whyRejectedByBroker
	case errors.Is(err, sarama.ErrInvalidMessage):
		return outcomeUnknown, whyCorrupt
	case errors.Is(err, sarama.ErrShuttingDown):
		return outcomeUnknown, whyShuttingDown
	case isOneOf(err, retriable):
		return outcomeUnknown, whyRetriesExhausted
	case isOneOf(err, idempotence):
		return outcomeUnknown, whyIdempotence
	case errors.Is(err, sarama.ErrOutOfBrokers),
		errors.Is(err, sarama.ErrNotConnected),
		errors.Is(err, sarama.ErrClosedClient),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr),
		errors.As(err, &decodeErr),
		errors.Is(err, breaker.ErrBreakerOpen):
		return outcomeUnknown, whyConnection
	default:
		return outcomeUnknown, whyDoesNotRuleOut
	}
}
