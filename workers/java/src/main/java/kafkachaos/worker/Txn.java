package kafkachaos.worker;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The open transaction of a transactional producer: its seqs, the first error one of its sends
 * reported, and the per-message {@code outcome} lines it still owes. Its {@code txn_end} is
 * written only once they are all out (the protocol puts every outcome of a transaction before
 * its end), whatever kafka-clients promises about callbacks on each path.
 *
 * <p>The run thread sends and ends; callbacks (the I/O thread) report, so the count and the
 * error are shared.
 */
final class Txn {
    final long firstSeq;
    /** Written by the run thread only. */
    private long lastSeq = -1;
    private long sent;
    private final AtomicReference<Throwable> sendError = new AtomicReference<>();
    /** Seqs sent without their outcome line written yet; guarded by this. */
    private int unreported;

    Txn(long firstSeq) {
        this.firstSeq = firstSeq;
    }

    /** Before the message is handed to the client. */
    void sending(long seq) {
        lastSeq = seq;
        sent++;
        synchronized (this) {
            unreported++;
        }
    }

    long lastSeq() {
        return lastSeq;
    }

    long sent() {
        return sent;
    }

    /** A send of the transaction failed; the first error is the one kept. */
    void failed(Throwable e) {
        sendError.compareAndSet(null, e);
    }

    Throwable sendError() {
        return sendError.get();
    }

    /** After a message's outcome line is written. */
    synchronized void reported() {
        unreported--;
        if (unreported <= 0) {
            notifyAll();
        }
    }

    /** Waits until every outcome line is written, up to {@code nanos}; true if they are. */
    synchronized boolean awaitReported(long nanos) {
        long deadline = System.nanoTime() + nanos;
        while (unreported > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }
}
