package kafkachaos.worker;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ApplicationRecoverableException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * How a transaction of a transactional producer ends, and what its {@code txn_end} line says
 * (docs/worker-protocol.md, "Transactions (producer)"): {@code committed}, {@code aborted} or
 * {@code unknown}. The harness turns it into every message's outcome ({@code committed}: acked,
 * {@code aborted}: failed), so {@code committed} and {@code aborted} are said only when
 * kafka-clients' {@code commitTransaction} or {@code abortTransaction} returned; anything else
 * is {@code unknown}, and the worker replaces its producer (a new one with the same
 * {@code transactional.id}, whose {@code initTransactions} fences this one and ends whatever it
 * left open).
 *
 * <p>What kafka-clients (4.4) says of its transactional calls: {@code commitTransaction} and
 * {@code abortTransaction} block up to {@code max.block.ms}; a {@code TimeoutException} "does
 * not mean the request did not actually reach the broker", and the same call may be retried, but
 * no other ("it is not possible to attempt a different operation (such as abortTransaction)
 * since the commit may already be in the progress of completing"). After an abortable error (a
 * failed send: a batch that expired, a retriable error that ran out of retries) the commit
 * throws a {@code KafkaException} at once, without asking the coordinator, and the abort is the
 * way on. A fatal error (see {@link #isFatal}) leaves the producer unusable: only closing it is
 * left.
 *
 * <p>The rules, in order; {@code why} is the rule's text; each has a test in TxnEndTest.
 * <ol>
 *   <li>{@link #WHY_FATAL_SEND} (unknown, replace): a send of the transaction failed with a fatal
 *       error; neither commit nor abort can run on this producer.</li>
 *   <li>{@link #WHY_ON_PURPOSE} (aborted): the transaction is one to abort on purpose and
 *       {@code abortTransaction} returned.</li>
 *   <li>{@link #WHY_SEND_FAILED} (aborted): a send of the transaction failed (not fatally): the
 *       worker aborts rather than commits (the commit would refuse, or, for an error the client
 *       did not count against the transaction, commit without the message), and
 *       {@code abortTransaction} returned.</li>
 *   <li>committed (no {@code why}): {@code commitTransaction} returned, at once or on a retry
 *       after timeouts.</li>
 *   <li>{@link #WHY_COMMIT_TIMEOUT} (unknown, replace): {@code commitTransaction} timed out, and
 *       so did its {@link #RETRIES_AFTER_TIMEOUT} retries, or a retry failed otherwise: the commit
 *       may have completed, and no abort is allowed after it.</li>
 *   <li>{@link #WHY_COMMIT_FATAL} (unknown, replace): {@code commitTransaction} failed with a
 *       fatal error, an {@code InterruptException} or an error that is not a
 *       {@code KafkaException} ({@code IllegalStateException}): the commit may have reached the
 *       coordinator (a fenced producer's commit may be completed by the one that fenced it).</li>
 *   <li>{@link #WHY_COMMIT_ABORTED} (aborted): {@code commitTransaction} failed with any other
 *       {@code KafkaException} (abortable), and {@code abortTransaction} returned.</li>
 *   <li>{@link #WHY_ABORT_FAILED} (unknown, replace): {@code abortTransaction} (rules 2, 3, 7)
 *       failed, after {@link #RETRIES_AFTER_TIMEOUT} retries when it timed out. Nothing was
 *       committed by this producer, but the protocol says {@code aborted} only for an abort that
 *       returned.</li>
 * </ol>
 */
public final class TxnEnd {
    public static final String COMMITTED = "committed";
    public static final String ABORTED = "aborted";
    public static final String UNKNOWN = "unknown";

    /** A commit (or abort) that timed out is tried this many more times (kafka-clients allows it). */
    static final int RETRIES_AFTER_TIMEOUT = 3;

    public static final String WHY_FATAL_SEND = "a send failed with a fatal error; the producer can neither commit nor abort";
    public static final String WHY_ON_PURPOSE = "aborted on purpose";
    public static final String WHY_SEND_FAILED = "a send of the transaction failed; aborted instead of committed";
    public static final String WHY_COMMIT_TIMEOUT = "the commit timed out, and its retries did not succeed; it may have completed";
    public static final String WHY_COMMIT_FATAL = "the commit failed with a fatal error; it may have completed";
    public static final String WHY_COMMIT_ABORTED = "the commit failed with an abortable error; aborted";
    public static final String WHY_ABORT_FAILED = "the abort failed";

    /** The line's outcome, error and why (null: left out), and whether the producer must be replaced. */
    public record Ending(String outcome, String error, String why, boolean replace) {}

    private TxnEnd() {}

    /**
     * Ends the open transaction: {@code commit} and {@code abort} are the producer's
     * {@code commitTransaction} and {@code abortTransaction}; {@code sendError} is the first error
     * a send of the transaction reported (thrown by {@code send()} or given to its callback), or
     * null.
     */
    public static Ending end(Runnable commit, Runnable abort, boolean onPurpose, Throwable sendError) {
        if (sendError != null && isFatal(sendError)) {
            return new Ending(UNKNOWN, Classify.describe(sendError), WHY_FATAL_SEND, true);
        }
        if (onPurpose) {
            return abort(abort, null, WHY_ON_PURPOSE);
        }
        if (sendError != null) {
            return abort(abort, sendError, WHY_SEND_FAILED);
        }
        boolean timedOut = false;
        for (int attempt = 0; ; attempt++) {
            try {
                commit.run();
                return new Ending(COMMITTED, null, null, false);
            } catch (TimeoutException e) {
                if (attempt >= RETRIES_AFTER_TIMEOUT) {
                    return new Ending(UNKNOWN, Classify.describe(e) + " (" + (attempt + 1) + " attempts)",
                            WHY_COMMIT_TIMEOUT, true);
                }
                timedOut = true;
            } catch (RuntimeException e) {
                if (timedOut) {
                    return new Ending(UNKNOWN, Classify.describe(e) + " (after a timeout)", WHY_COMMIT_TIMEOUT, true);
                }
                if (!(e instanceof KafkaException) || e instanceof InterruptException || isFatal(e)) {
                    return new Ending(UNKNOWN, Classify.describe(e), WHY_COMMIT_FATAL, true);
                }
                return abort(abort, e, WHY_COMMIT_ABORTED);
            }
        }
    }

    /** Rules 2, 3, 7 when the abort returns, rule 8 when it fails; {@code cause} is why it aborts (null: on purpose). */
    private static Ending abort(Runnable abort, Throwable cause, String why) {
        String before = cause == null ? "" : Classify.describe(cause) + "; then ";
        for (int attempt = 0; ; attempt++) {
            try {
                abort.run();
                return new Ending(ABORTED, cause == null ? null : Classify.describe(cause), why, false);
            } catch (TimeoutException e) {
                if (attempt >= RETRIES_AFTER_TIMEOUT) {
                    return new Ending(UNKNOWN, before + "abortTransaction: " + Classify.describe(e) + " ("
                            + (attempt + 1) + " attempts)", WHY_ABORT_FAILED, true);
                }
            } catch (RuntimeException e) {
                return new Ending(UNKNOWN, before + "abortTransaction: " + Classify.describe(e), WHY_ABORT_FAILED, true);
            }
        }
    }

    /**
     * Fatal: the producer cannot go on and is replaced. The error or any of its causes (the
     * client wraps a stored error: "Cannot execute transactional method because we are in an
     * error state") is one of {@code ProducerFencedException}, {@code InvalidProducerEpochException}
     * (both {@code ApplicationRecoverableException}s in 4.x, whose remedy is a new producer, as for
     * {@code InvalidPidMappingException}), {@code OutOfOrderSequenceException},
     * {@code AuthorizationException}, {@code UnsupportedVersionException}. kafka-clients itself
     * still lets some of these be aborted (an epoch or sequence error from a produce request, a
     * topic not authorized); calling them fatal gives {@code unknown} where {@code aborted} might
     * be true, never the reverse.
     */
    static boolean isFatal(Throwable e) {
        // A bounded walk: a cause chain may loop.
        Throwable t = e;
        for (int depth = 0; t != null && depth < 10; depth++, t = t.getCause()) {
            if (t instanceof ProducerFencedException
                    || t instanceof InvalidProducerEpochException
                    || t instanceof ApplicationRecoverableException
                    || t instanceof OutOfOrderSequenceException
                    || t instanceof AuthorizationException
                    || t instanceof UnsupportedVersionException) {
                return true;
            }
        }
        return false;
    }
}
