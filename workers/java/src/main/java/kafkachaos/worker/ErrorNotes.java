package kafkachaos.worker;

/**
 * {@code error} lines: a client-level error worth a note. The same message repeats (every poll
 * while a broker is down), so one message is written at most every 5 s, with the count of the
 * repeats it stood for.
 */
final class ErrorNotes {
    static final long REPEAT_INTERVAL_NANOS = 5_000_000_000L;

    private final LineSink out;
    private String last;
    private long lastAt;
    private long repeats;

    ErrorNotes(LineSink out) {
        this.out = out;
    }

    synchronized void note(String message) {
        long now = System.nanoTime();
        if (message.equals(last) && now - lastAt < REPEAT_INTERVAL_NANOS) {
            repeats++;
            return;
        }
        String text = message.equals(last) && repeats > 0 ? message + " (and " + repeats + " more times)" : message;
        last = message;
        lastAt = now;
        repeats = 0;
        out.emit(Line.of("error").put("message", text));
    }
}
