package kafkachaos.worker;

import static kafkachaos.worker.Classify.Stage.AFTER_QUEUEING;
import static kafkachaos.worker.Classify.Stage.REFUSED_BY_SEND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.producer.BufferExhaustedException;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.UnknownProducerIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

/** One test per rule of {@link Classify}, in its order. */
class ClassifyTest {
    private static void expect(String outcome, String why, Classify.Stage stage, List<? extends Exception> errors) {
        for (Exception e : errors) {
            Classify.Classification c = Classify.classify(e, stage);
            assertEquals(outcome, c.outcome(), e.toString());
            assertEquals(why, c.why(), e.toString());
        }
    }

    @Test
    void rule1_an_error_from_send_itself_is_failed_whatever_it_is() {
        expect(Classify.FAILED, Classify.WHY_REFUSED, REFUSED_BY_SEND, List.of(
                new TimeoutException("Partition 9 of topic t with partition count 4 is not present in metadata after 60000 ms.",
                        new UnknownTopicOrPartitionException("unknown")),
                new RecordTooLargeException("The message is 2000000 bytes when serialized ..."),
                new SerializationException("cannot serialize"),
                new IllegalStateException("Cannot perform operation after producer has been closed"),
                new BufferExhaustedException("Failed to allocate memory within the configured max blocking time"),
                new KafkaException("Cannot execute transactional method because we are in an error state")));
    }

    @Test
    void rule2_a_rejection_of_the_message_itself_is_failed() {
        expect(Classify.FAILED, Classify.WHY_REJECTED, AFTER_QUEUEING, List.of(
                new RecordTooLargeException("MESSAGE_TOO_LARGE"),
                new RecordBatchTooLargeException("RECORD_LIST_TOO_LARGE"),
                new InvalidRecordException("INVALID_RECORD"),
                new TopicAuthorizationException(Set.of("t")),
                new ClusterAuthorizationException("CLUSTER_AUTHORIZATION_FAILED"),
                new InvalidTopicException("INVALID_TOPIC_EXCEPTION"),
                new PolicyViolationException("POLICY_VIOLATION"),
                new SerializationException("cannot serialize")));
    }

    @Test
    void an_invalid_timestamp_is_unknown_a_retry_meets_another_clock() {
        expect(Classify.UNKNOWN, Classify.WHY_CLOCK, AFTER_QUEUEING,
                List.of(new InvalidTimestampException("INVALID_TIMESTAMP")));
    }

    @Test
    void rule3_a_timeout_after_queueing_is_unknown() {
        expect(Classify.UNKNOWN, Classify.WHY_TIMEOUT, AFTER_QUEUEING, List.of(
                new TimeoutException("Expiring 12 record(s) for t-0:120000 ms has passed since batch creation"),
                new BufferExhaustedException("a subclass of TimeoutException")));
    }

    @Test
    void rule4_not_enough_replicas_after_append_is_unknown() {
        expect(Classify.UNKNOWN, Classify.WHY_AFTER_APPEND, AFTER_QUEUEING,
                List.of(new NotEnoughReplicasAfterAppendException("NOT_ENOUGH_REPLICAS_AFTER_APPEND")));
    }

    @Test
    void rule5_other_retriable_errors_are_unknown_unknown_partition_included() {
        expect(Classify.UNKNOWN, Classify.WHY_RETRIABLE, AFTER_QUEUEING, List.of(
                new NotEnoughReplicasException("NOT_ENOUGH_REPLICAS"),
                new NotLeaderOrFollowerException("NOT_LEADER_OR_FOLLOWER"),
                new NetworkException("the server disconnected"),
                new DisconnectException("disconnected"),
                // Retriable in kafka-clients 4.x (InvalidMetadataException): stale metadata.
                new UnknownTopicOrPartitionException("UNKNOWN_TOPIC_OR_PARTITION"),
                new CorruptRecordException("CORRUPT_MESSAGE")));
    }

    @Test
    void rule6_an_idempotent_sequence_gap_is_unknown() {
        expect(Classify.UNKNOWN, Classify.WHY_SEQUENCE, AFTER_QUEUEING,
                List.of(new OutOfOrderSequenceException("OUT_OF_ORDER_SEQUENCE_NUMBER"),
                        new UnknownProducerIdException("UNKNOWN_PRODUCER_ID, a subclass")));
    }

    @Test
    void rule7_anything_else_is_unknown() {
        expect(Classify.UNKNOWN, Classify.WHY_OTHER, AFTER_QUEUEING, List.of(
                new KafkaException("Producer is closed forcefully."),
                new InvalidProducerEpochException("INVALID_PRODUCER_EPOCH"),
                new UnsupportedVersionException("UNSUPPORTED_VERSION"),
                // A batch of a transaction being aborted: txn_end, not this, decides the message.
                new TransactionAbortedException("Failing batch since transaction was aborted"),
                new IllegalStateException("something new")));
    }

    @Test
    void the_error_names_the_exception_and_its_cause() {
        Classify.Classification c = Classify.classify(
                new TimeoutException("not present in metadata", new UnknownTopicOrPartitionException("gone")), REFUSED_BY_SEND);
        assertEquals("TimeoutException: not present in metadata (caused by UnknownTopicOrPartitionException: gone)", c.error());
        assertTrue(Classify.classify(new KafkaException((String) null), AFTER_QUEUEING).error().equals("KafkaException"));
    }
}
