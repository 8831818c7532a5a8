package kafkachaos.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MessageTest {
    private static Message.Decoded decode(String run, String value) {
        return Message.decode(run, value == null ? null : value.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void round_trip_with_padding() throws ConfigError {
        Message.Encoder enc = new Message.Encoder("run-1", 3, 256);
        for (long seq : new long[] {0, 1, 99, Long.MAX_VALUE}) {
            assertEquals("3-" + seq, enc.key(seq));
            String value = enc.value(seq);
            assertEquals(256, value.length());
            assertEquals(true, value.substring(("kc1|run-1|3|" + seq + "|").length()).matches("[a-z]*"));
            Message.Decoded d = decode("run-1", value);
            assertEquals(Message.Decoded.Kind.OURS, d.kind);
            assertEquals(3, d.producer);
            assertEquals(seq, d.seq);
        }
    }

    @Test
    void ids_longer_than_the_payload_are_kept_whole() throws ConfigError {
        assertEquals("kc1|r|4000000000|12345|", new Message.Encoder("r", 4_000_000_000L, 4).value(12345));
    }

    @Test
    void other_runs_and_foreign_records_are_told_apart() {
        assertEquals(Message.Decoded.Kind.OTHER_RUN, decode("new", "kc1|old|1|7|abc").kind);
        assertEquals("run old producer 1 seq 7", decode("new", "kc1|old|1|7|abc").detail());
        for (String junk : new String[] {"", "hello", "kc1|", "kc1|r|1|", "kc1|r|1|2", "kc1|r|x|2|", "kc1||1|2|",
                "kc1|r|1|99999999999999999999999|", "kc1|r|4294967296|1|", null}) {
            assertEquals(Message.Decoded.Kind.FOREIGN, decode("r", junk).kind, String.valueOf(junk));
        }
        assertEquals(Message.Decoded.Kind.OURS, decode("r", "kc1|r|1|2|").kind);
    }

    @Test
    void run_ids_must_fit_between_separators() throws ConfigError {
        Message.validateRunId("20250101-abc_1.x");
        for (String bad : new String[] {"", "a|b", "with space", "x".repeat(65)}) {
            assertThrows(ConfigError.class, () -> Message.validateRunId(bad), bad);
        }
    }
}
