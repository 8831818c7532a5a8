package kafkachaos.worker;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidRequiredAcksException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedCompressionTypeException;
import org.apache.kafka.common.errors.UnsupportedForMessageFormatException;

/**
 * What an error from kafka-clients means for one message: {@code failed} (definitely never
 * written) or {@code unknown} (it may have been). Jepsen's rule for indeterminate operations:
 * {@code failed} only where no attempt of the message can have reached the log.
 *
 * <p>Where the error comes from matters as much as its class. kafka-clients (4.4) reports a
 * record's error in two places:
 * <ul>
 *   <li><b>From {@code send()} itself</b>, on the caller's thread: {@code KafkaProducer.doSend}
 *       hands every {@code ApiException} raised before the record is in the accumulator (waiting
 *       for metadata, serializing, choosing the partition, checking the size, allocating from
 *       {@code buffer.memory}) to the callback before {@code send()} returns, and throws the rest
 *       (a closed producer's {@code IllegalStateException}, {@code SerializationException}, a fatal
 *       idempotence state, {@code InterruptException}). Either way no batch holds the record:
 *       {@link Stage#REFUSED_BY_SEND}.</li>
 *   <li><b>Later</b>, on the I/O thread, when the record's batch completes with an error: after
 *       one or more produce requests, on expiry in the accumulator, or when {@code close(timeout)}
 *       aborts what is left: {@link Stage#AFTER_QUEUEING}. kafka-clients does not say whether an
 *       earlier attempt of the batch reached a broker (librdkafka's "possibly persisted" has no
 *       Java counterpart), so only errors the broker gives for the message itself, the same on
 *       every attempt, are {@code failed}.</li>
 * </ul>
 *
 * <p>The rules, in order; {@code why} is the rule's text; each has a test in ClassifyTest.
 * <ol>
 *   <li>{@link #WHY_REFUSED} (failed): the error came from {@code send()} itself. E.g. the
 *       {@code TimeoutException} "Partition 9 of topic t with partition count 4 is not present in
 *       metadata after 60000 ms" (how a partition outside the topic shows: the metadata's
 *       {@code UnknownTopicOrPartitionException} never reaches the application),
 *       {@code RecordTooLargeException} ({@code max.request.size}), {@code SerializationException},
 *       {@code IllegalStateException} after close, {@code BufferExhaustedException}.</li>
 *   <li>{@link #WHY_REJECTED} (failed): after queueing, a non-retriable error about the message
 *       itself, which the broker checks before it appends (so {@code Sender} fails the batch on
 *       the first such response): {@code RecordTooLargeException} (a batch of several records is
 *       split and retried, so only a record too large on its own gets it),
 *       {@code RecordBatchTooLargeException}, {@code InvalidRecordException},
 *       {@code AuthorizationException} (topic, cluster), {@code InvalidTopicException},
 *       {@code PolicyViolationException},
 *       {@code UnsupportedCompressionTypeException}, {@code UnsupportedForMessageFormatException},
 *       {@code InvalidRequiredAcksException}, {@code SerializationException}. Assumes the topic's
 *       limits and the ACLs do not change during the run: an earlier attempt that timed out
 *       would have met the same check.</li>
 *   <li>{@link #WHY_CLOCK} (unknown, checked before rule 2): {@code InvalidTimestampException}.
 *       The broker checks a timestamp against its own clock ({@code message.timestamp.*.max.ms}),
 *       so an early attempt can be accepted and a retry of it rejected.</li>
 *   <li>{@link #WHY_TIMEOUT} (unknown): a {@code TimeoutException} after queueing
 *       ({@code delivery.timeout.ms} expired, "Expiring N record(s) ..."): the batch may have been
 *       sent, and written, before that.</li>
 *   <li>{@link #WHY_AFTER_APPEND} (unknown): {@code NotEnoughReplicasAfterAppendException}: the
 *       leader appended the batch, then too few replicas caught up.</li>
 *   <li>{@link #WHY_RETRIABLE} (unknown): any other {@code RetriableException}
 *       ({@code NotEnoughReplicasException}, {@code NotLeaderOrFollowerException},
 *       {@code NetworkException}, {@code DisconnectException},
 *       {@code UnknownTopicOrPartitionException} and {@code CorruptRecordException}, both
 *       retriable in 4.x): the client retried until it ran out of time or retries and reports the
 *       last attempt's error; an earlier attempt may have been written.</li>
 *   <li>{@link #WHY_SEQUENCE} (unknown): {@code OutOfOrderSequenceException} (and its subclass
 *       {@code UnknownProducerIdException}): the broker saw a gap in the idempotent sequence; what
 *       became of the batches around it is not known.</li>
 *   <li>{@link #WHY_OTHER} (unknown): anything else, e.g. {@code KafkaException} "Producer is
 *       closed forcefully." ({@code close(timeout)} ran out and aborted batches that may be in
 *       flight), {@code InvalidProducerEpochException}, {@code UnsupportedVersionException},
 *       {@code TransactionAbortedException} (a transactional batch failed by the abort of its
 *       transaction; the harness takes the message's outcome from the transaction's
 *       {@code txn_end}, see {@link TxnEnd}).</li>
 * </ol>
 */
public final class Classify {
    public static final String FAILED = "failed";
    public static final String UNKNOWN = "unknown";

    public static final String WHY_REFUSED = "refused by send() before the record was queued; no request carried it";
    public static final String WHY_REJECTED = "rejected for the message itself, the same on every attempt";
    public static final String WHY_CLOCK = "the timestamp was checked against the broker's clock; an earlier attempt may have been accepted";
    public static final String WHY_TIMEOUT = "timed out after the record was queued; it may have been sent and written";
    public static final String WHY_AFTER_APPEND = "the leader appended it, then too few replicas were in sync";
    public static final String WHY_RETRIABLE = "retriable error after queueing; an earlier attempt may have been written";
    public static final String WHY_SEQUENCE = "idempotent sequence gap; the fate of the batches around it is not known";
    public static final String WHY_OTHER = "the error does not rule out a write";

    /** Where the error was reported: see the class comment. */
    public enum Stage {
        /** Thrown by {@code send()}, or given to the callback before {@code send()} returned. */
        REFUSED_BY_SEND,
        /** Given to the callback when the record's batch completed. */
        AFTER_QUEUEING
    }

    /** {@code failed} or {@code unknown}, the error as text, the rule. */
    public record Classification(String outcome, String error, String why) {}

    private Classify() {}

    public static Classification classify(Throwable e, Stage stage) {
        String error = describe(e);
        if (stage == Stage.REFUSED_BY_SEND) {
            return new Classification(FAILED, error, WHY_REFUSED);
        }
        if (e instanceof InvalidTimestampException) {
            return new Classification(UNKNOWN, error, WHY_CLOCK);
        }
        if (rejectsTheMessageItself(e)) {
            return new Classification(FAILED, error, WHY_REJECTED);
        }
        if (e instanceof TimeoutException) {
            return new Classification(UNKNOWN, error, WHY_TIMEOUT);
        }
        if (e instanceof NotEnoughReplicasAfterAppendException) {
            return new Classification(UNKNOWN, error, WHY_AFTER_APPEND);
        }
        if (e instanceof RetriableException) {
            return new Classification(UNKNOWN, error, WHY_RETRIABLE);
        }
        if (e instanceof OutOfOrderSequenceException) {
            return new Classification(UNKNOWN, error, WHY_SEQUENCE);
        }
        return new Classification(UNKNOWN, error, WHY_OTHER);
    }

    /** Rule 2: non-retriable, about the message itself, checked by the broker before it appends. */
    static boolean rejectsTheMessageItself(Throwable e) {
        return e instanceof RecordTooLargeException
                || e instanceof RecordBatchTooLargeException
                || e instanceof InvalidRecordException
                || e instanceof AuthorizationException
                || e instanceof InvalidTopicException
                || e instanceof PolicyViolationException
                || e instanceof UnsupportedCompressionTypeException
                || e instanceof UnsupportedForMessageFormatException
                || e instanceof InvalidRequiredAcksException
                || e instanceof SerializationException;
    }

    /** The exception's class and message, and its cause's (a metadata timeout carries the metadata error). */
    static String describe(Throwable e) {
        StringBuilder s = new StringBuilder(e.getClass().getSimpleName());
        if (e.getMessage() != null) {
            s.append(": ").append(e.getMessage());
        }
        Throwable cause = e.getCause();
        if (cause != null && cause != e) {
            s.append(" (caused by ").append(cause.getClass().getSimpleName());
            if (cause.getMessage() != null) {
                s.append(": ").append(cause.getMessage());
            }
            s.append(')');
        }
        return s.toString();
    }
}
