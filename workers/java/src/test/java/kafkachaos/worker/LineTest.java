package kafkachaos.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The shapes of docs/worker-protocol.md, field order included (as the rdkafka worker writes them). */
class LineTest {
    @Test
    void lines_have_the_documented_shape() {
        assertEquals("{\"type\":\"ready\"}", Line.of("ready").toString());
        assertEquals("{\"type\":\"sending\",\"seq\":12,\"partition\":0}",
                Line.of("sending").put("seq", 12).put("partition", 0).toString());
        assertEquals("{\"type\":\"outcome\",\"seq\":12,\"outcome\":\"acked\",\"partition\":0,\"offset\":345,\"latency_ms\":3.2}",
                Line.of("outcome").put("seq", 12).put("outcome", "acked").put("partition", 0).put("offset", 345)
                        .put("latency_ms", 3.2).toString());
        assertEquals("{\"type\":\"rebalance\",\"kind\":\"assign\",\"partitions\":[]}",
                Line.of("rebalance").put("kind", "assign").put("partitions", List.of()).toString());
        assertEquals("{\"type\":\"processed\",\"producer\":1,\"seq\":2,\"partition\":0,\"offset\":7}",
                Line.of("processed").put("producer", 1).put("seq", 2).put("partition", 0).put("offset", 7).toString());
        byte[] bytes = Line.of("stopped").bytes();
        assertEquals('\n', bytes[bytes.length - 1], "one buffer, newline included: one write");
    }
}
