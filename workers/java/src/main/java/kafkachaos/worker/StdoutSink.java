package kafkachaos.worker;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;

/**
 * Stdout, the protocol's channel: every line is one {@code write} on the raw file descriptor,
 * under a lock so lines from different threads never interleave, with no buffer in between (a
 * line is in the pipe when {@link #emit} returns; a SIGKILL after that cannot lose it).
 *
 * <p>When the reader is gone (EPIPE; the JVM ignores SIGPIPE, so the write fails instead) the
 * sink calls {@code onClosed} once, which stops the worker gracefully, and drops later lines.
 */
public final class StdoutSink implements LineSink {
    private final FileOutputStream out = new FileOutputStream(FileDescriptor.out);
    private final Runnable onClosed;
    private boolean closed;

    public StdoutSink(Runnable onClosed) {
        this.onClosed = onClosed;
    }

    @Override
    public void emit(Line line) {
        byte[] bytes = line.bytes();
        boolean justClosed = false;
        synchronized (this) {
            if (closed) {
                return;
            }
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                closed = true;
                justClosed = true;
                System.err.println("kafka-chaos worker: stdout is closed (" + e.getMessage() + "); stopping");
            }
        }
        if (justClosed) {
            onClosed.run();
        }
    }
}
