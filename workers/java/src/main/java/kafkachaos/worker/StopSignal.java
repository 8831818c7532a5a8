package kafkachaos.worker;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * "Stop gracefully": requested by SIGTERM (the shutdown hook), by EOF on stdin and by a closed
 * stdout. Waits in the workers use {@link #await} so a stop cuts them short; a worker blocked in
 * a client call registers {@link #whenRequested} (the consumer's {@code wakeup()}).
 */
public final class StopSignal {
    private final CountDownLatch latch = new CountDownLatch(1);
    private final List<Runnable> actions = new ArrayList<>();
    private String reason;

    public void request(String why) {
        List<Runnable> run;
        synchronized (this) {
            if (reason != null) {
                return;
            }
            reason = why;
            run = List.copyOf(actions);
        }
        latch.countDown();
        run.forEach(Runnable::run);
    }

    /** Run {@code action} on the requesting thread when a stop is requested (at once if it was). */
    public void whenRequested(Runnable action) {
        synchronized (this) {
            if (reason == null) {
                actions.add(action);
                return;
            }
        }
        action.run();
    }

    public boolean requested() {
        return latch.getCount() == 0;
    }

    /** Why the stop was requested, or null. */
    public synchronized String reason() {
        return reason;
    }

    /** Wait up to {@code nanos}; true if the stop has been requested. */
    public boolean await(long nanos) {
        if (nanos <= 0) {
            return requested();
        }
        try {
            return latch.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return requested();
        }
    }
}
