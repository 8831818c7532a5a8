package kafkachaos.worker;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * How a message says who wrote it (docs/worker-protocol.md, "Messages"; src/workload/record.rs):
 * the value starts with {@code kc1|<run_id>|<producer id>|<seq>|} and is padded to
 * {@code payload_bytes} with lowercase letters; the key is {@code <producer id>-<seq>}.
 *
 * <p>The padding is letters drawn once per producer (seeded by its id), so compression sees
 * text-like data. A value whose ids alone are longer than {@code payload_bytes} is kept whole.
 */
public final class Message {
    private static final byte[] MAGIC = "kc1|".getBytes(StandardCharsets.US_ASCII);
    private static final byte SEP = '|';
    /** Unsigned 32-bit producer ids, as the harness has them. */
    private static final long MAX_PRODUCER = 0xFFFF_FFFFL;

    private Message() {}

    /** A run id goes between separators in every value: 1 to 64 letters, digits, '-', '_' or '.'. */
    public static void validateRunId(String run) throws ConfigError {
        boolean ok = run != null && !run.isEmpty() && run.length() <= 64;
        for (int i = 0; ok && i < run.length(); i++) {
            char ch = run.charAt(i);
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                    || ch == '-' || ch == '_' || ch == '.';
        }
        if (!ok) {
            throw new ConfigError("run id \"" + run + "\" cannot be written into messages; use 1 to 64 letters, "
                    + "digits, '-', '_' or '.'");
        }
    }

    /** Builds the key and value of each message of one producer (ASCII, so Strings for StringSerializer). */
    public static final class Encoder {
        private final String prefix;
        private final String padding;
        private final long producer;
        private final int payloadBytes;

        public Encoder(String run, long producer, int payloadBytes) throws ConfigError {
            validateRunId(run);
            this.producer = producer;
            this.payloadBytes = payloadBytes;
            this.prefix = "kc1|" + run + "|" + producer + "|";
            Random random = new Random(producer);
            StringBuilder letters = new StringBuilder(payloadBytes);
            for (int i = 0; i < payloadBytes; i++) {
                letters.append((char) ('a' + random.nextInt(26)));
            }
            this.padding = letters.toString();
        }

        /** {@code <producer>-<seq>}. */
        public String key(long seq) {
            return producer + "-" + seq;
        }

        /** {@code kc1|<run>|<producer>|<seq>|} padded to {@code payload_bytes}, or just the ids when longer. */
        public String value(long seq) {
            String ids = prefix + seq + "|";
            return ids.length() >= payloadBytes ? ids : ids + padding.substring(0, payloadBytes - ids.length());
        }
    }

    /** What a record read back is. */
    public static final class Decoded {
        public enum Kind { OURS, OTHER_RUN, FOREIGN }

        public final Kind kind;
        public final String run;
        public final long producer;
        public final long seq;

        private Decoded(Kind kind, String run, long producer, long seq) {
            this.kind = kind;
            this.run = run;
            this.producer = producer;
            this.seq = seq;
        }

        /** For a {@code foreign} line: what the record is. */
        public String detail() {
            switch (kind) {
                case OTHER_RUN:
                    return "run " + run + " producer " + producer + " seq " + seq;
                case FOREIGN:
                    return "not written by kafka-chaos";
                default:
                    return "of this run";
            }
        }

        @Override
        public String toString() {
            return kind + " " + detail();
        }
    }

    private static final Decoded FOREIGN = new Decoded(Decoded.Kind.FOREIGN, null, -1, -1);

    /** Classify a record's value against this run. A null value (a tombstone) is foreign. */
    public static Decoded decode(String run, byte[] value) {
        if (value == null || value.length < MAGIC.length) {
            return FOREIGN;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (value[i] != MAGIC[i]) {
                return FOREIGN;
            }
        }
        int runStart = MAGIC.length;
        int runEnd = indexOf(value, runStart);
        if (runEnd <= runStart) {
            return FOREIGN; // no separator, or an empty run id
        }
        int producerEnd = indexOf(value, runEnd + 1);
        if (producerEnd < 0) {
            return FOREIGN;
        }
        // The separator after the seq must be there: a value cut short after the seq is damaged.
        int seqEnd = indexOf(value, producerEnd + 1);
        if (seqEnd < 0) {
            return FOREIGN;
        }
        long producer = digits(value, runEnd + 1, producerEnd);
        long seq = digits(value, producerEnd + 1, seqEnd);
        if (producer < 0 || producer > MAX_PRODUCER || seq < 0) {
            return FOREIGN;
        }
        String recordRun;
        try {
            recordRun = StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(value, runStart, runEnd - runStart))
                    .toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return FOREIGN;
        }
        Decoded.Kind kind = recordRun.equals(run) ? Decoded.Kind.OURS : Decoded.Kind.OTHER_RUN;
        return new Decoded(kind, recordRun, producer, seq);
    }

    private static int indexOf(byte[] value, int from) {
        for (int i = from; i < value.length; i++) {
            if (value[i] == SEP) {
                return i;
            }
        }
        return -1;
    }

    /** A decimal number in [from, to), or -1 if it is not one (or does not fit a long). */
    private static long digits(byte[] value, int from, int to) {
        if (to <= from || to - from > 20) {
            return -1;
        }
        long n = 0;
        try {
            for (int i = from; i < to; i++) {
                byte d = value[i];
                if (d < '0' || d > '9') {
                    return -1;
                }
                n = Math.addExact(Math.multiplyExact(n, 10L), d - '0');
            }
        } catch (ArithmeticException overflow) {
            return -1;
        }
        return n;
    }
}
