package kafkachaos.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnknownProducerIdException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

/** One test per rule of {@link TxnEnd}, in its order. */
class TxnEndTest {
    /** commitTransaction or abortTransaction: each call throws the next scripted error, or returns (null). */
    private static final class Call implements Runnable {
        private final Deque<RuntimeException> script = new ArrayDeque<>();
        private int calls;

        Call(RuntimeException... errors) {
            // ArrayDeque holds no nulls: a returning call is the end of the script.
            script.addAll(Arrays.asList(errors));
        }

        @Override
        public void run() {
            calls++;
            RuntimeException e = script.poll();
            if (e != null) {
                throw e;
            }
        }
    }

    private static final Runnable NEVER = () -> {
        throw new AssertionError("not to be called");
    };

    private static final List<RuntimeException> FATAL = List.of(
            new ProducerFencedException("fenced"),
            new InvalidProducerEpochException("INVALID_PRODUCER_EPOCH"),
            new InvalidPidMappingException("INVALID_PRODUCER_ID_MAPPING"),
            new OutOfOrderSequenceException("OUT_OF_ORDER_SEQUENCE_NUMBER"),
            new UnknownProducerIdException("a subclass of OutOfOrderSequenceException"),
            new TopicAuthorizationException(Set.of("t")),
            new TransactionalIdAuthorizationException("TRANSACTIONAL_ID_AUTHORIZATION_FAILED"),
            new UnsupportedVersionException("UNSUPPORTED_VERSION"),
            new KafkaException("Cannot execute transactional method because we are in an error state",
                    new ClusterAuthorizationException("stored as the producer's last error")));

    private static void expect(TxnEnd.Ending e, String outcome, String why, boolean replace) {
        assertEquals(outcome, e.outcome(), e.toString());
        assertEquals(why, e.why(), e.toString());
        assertEquals(replace, e.replace(), e.toString());
    }

    @Test
    void rule1_a_fatal_send_error_is_unknown_without_commit_or_abort() {
        for (RuntimeException error : FATAL) {
            TxnEnd.Ending e = TxnEnd.end(NEVER, NEVER, false, error);
            expect(e, TxnEnd.UNKNOWN, TxnEnd.WHY_FATAL_SEND, true);
            assertEquals(Classify.describe(error), e.error());
            // Aborting on purpose cannot run either.
            expect(TxnEnd.end(NEVER, NEVER, true, error), TxnEnd.UNKNOWN, TxnEnd.WHY_FATAL_SEND, true);
        }
    }

    @Test
    void rule2_an_abort_on_purpose_that_returns_is_aborted() {
        Call abort = new Call();
        TxnEnd.Ending e = TxnEnd.end(NEVER, abort, true, null);
        expect(e, TxnEnd.ABORTED, "aborted on purpose", false);
        assertNull(e.error());
        assertEquals(1, abort.calls);
        // A send error does not change a planned abort.
        expect(TxnEnd.end(NEVER, new Call(), true, new NotEnoughReplicasException("x")),
                TxnEnd.ABORTED, TxnEnd.WHY_ON_PURPOSE, false);
        // Nor does an abort that timed out and then returned.
        expect(TxnEnd.end(NEVER, new Call(new TimeoutException("EndTxn(false)")), true, null),
                TxnEnd.ABORTED, TxnEnd.WHY_ON_PURPOSE, false);
    }

    @Test
    void rule3_a_failed_send_is_aborted_instead_of_committed() {
        TimeoutException expired = new TimeoutException("Expiring 3 record(s) for t-0: 120000 ms has passed");
        TxnEnd.Ending e = TxnEnd.end(NEVER, new Call(), false, expired);
        expect(e, TxnEnd.ABORTED, TxnEnd.WHY_SEND_FAILED, false);
        assertEquals(Classify.describe(expired), e.error());
        expect(TxnEnd.end(NEVER, new Call(), false, new IllegalStateException("refused by send()")),
                TxnEnd.ABORTED, TxnEnd.WHY_SEND_FAILED, false);
    }

    @Test
    void rule4_a_commit_that_returns_is_committed_even_after_timeouts() {
        Call commit = new Call();
        TxnEnd.Ending e = TxnEnd.end(commit, NEVER, false, null);
        expect(e, TxnEnd.COMMITTED, null, false);
        assertNull(e.error());
        assertEquals(1, commit.calls);
        Call retried = new Call(new TimeoutException("1"), new TimeoutException("2"), new TimeoutException("3"));
        expect(TxnEnd.end(retried, NEVER, false, null), TxnEnd.COMMITTED, null, false);
        assertEquals(4, retried.calls, "the first attempt and 3 retries");
    }

    @Test
    void rule5_a_commit_that_keeps_timing_out_is_unknown_and_never_aborted() {
        Call commit = new Call(new TimeoutException("1"), new TimeoutException("2"), new TimeoutException("3"),
                new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(true)"));
        TxnEnd.Ending e = TxnEnd.end(commit, NEVER, false, null);
        expect(e, TxnEnd.UNKNOWN, TxnEnd.WHY_COMMIT_TIMEOUT, true);
        assertEquals(1 + TxnEnd.RETRIES_AFTER_TIMEOUT, commit.calls);
        assertTrue(e.error().contains("awaiting EndTxn(true)") && e.error().contains("4 attempts"), e.error());
        // A retry that fails otherwise (even abortably) does not allow an abort either.
        expect(TxnEnd.end(new Call(new TimeoutException("1"), new KafkaException("abortable")), NEVER, false, null),
                TxnEnd.UNKNOWN, TxnEnd.WHY_COMMIT_TIMEOUT, true);
    }

    @Test
    void rule6_a_fatal_commit_error_is_unknown() {
        for (RuntimeException error : FATAL) {
            TxnEnd.Ending e = TxnEnd.end(new Call(error), NEVER, false, null);
            expect(e, TxnEnd.UNKNOWN, TxnEnd.WHY_COMMIT_FATAL, true);
            assertEquals(Classify.describe(error), e.error());
        }
        InterruptException interrupted = new InterruptException("interrupted while awaiting EndTxn(true)");
        // Every constructor of it interrupts the calling thread: not this test's.
        Thread.interrupted();
        for (RuntimeException error : List.of(new IllegalStateException("Invalid transition attempted"), interrupted)) {
            expect(TxnEnd.end(new Call(error), NEVER, false, null), TxnEnd.UNKNOWN, TxnEnd.WHY_COMMIT_FATAL, true);
        }
    }

    @Test
    void rule7_an_abortable_commit_error_is_aborted_when_the_abort_returns() {
        for (RuntimeException error : List.of(
                new KafkaException("Cannot execute transactional method because we are in an error state",
                        new TimeoutException("Expiring 1 record(s)")),
                new TransactionAbortableException("Transaction Request was aborted after exhausting retries."))) {
            Call abort = new Call();
            TxnEnd.Ending e = TxnEnd.end(new Call(error), abort, false, null);
            expect(e, TxnEnd.ABORTED, TxnEnd.WHY_COMMIT_ABORTED, false);
            assertEquals(Classify.describe(error), e.error(), "names the commit's error");
            assertEquals(1, abort.calls);
        }
    }

    @Test
    void rule8_a_failed_abort_is_unknown() {
        KafkaException commitError = new KafkaException("abortable");
        TxnEnd.Ending e = TxnEnd.end(new Call(commitError), new Call(new ProducerFencedException("fenced")), false, null);
        expect(e, TxnEnd.UNKNOWN, TxnEnd.WHY_ABORT_FAILED, true);
        assertTrue(e.error().startsWith("KafkaException: abortable; then abortTransaction: ProducerFencedException"), e.error());
        expect(TxnEnd.end(NEVER, new Call(new KafkaException("x")), true, null), TxnEnd.UNKNOWN, TxnEnd.WHY_ABORT_FAILED, true);
        expect(TxnEnd.end(NEVER, new Call(new KafkaException("x")), false, new NotEnoughReplicasException("y")),
                TxnEnd.UNKNOWN, TxnEnd.WHY_ABORT_FAILED, true);
        Call timingOut = new Call(new TimeoutException("1"), new TimeoutException("2"), new TimeoutException("3"),
                new TimeoutException("4"));
        expect(TxnEnd.end(NEVER, timingOut, true, null), TxnEnd.UNKNOWN, TxnEnd.WHY_ABORT_FAILED, true);
        assertEquals(1 + TxnEnd.RETRIES_AFTER_TIMEOUT, timingOut.calls);
    }

    @Test
    void abortable_errors_are_not_fatal() {
        assertFalse(TxnEnd.isFatal(new KafkaException("in an error state", new NotEnoughReplicasException("x"))));
        assertFalse(TxnEnd.isFatal(new TimeoutException("EndTxn")));
        assertTrue(TxnEnd.isFatal(new KafkaException("a", new KafkaException("b", new ProducerFencedException("c")))));
    }
}
