package kafkachaos.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The transactional producer's lines, against kafka-clients' MockProducer. */
class ProducerWorkerTxnTest {
    private static String config(long maxMessages, long messages, long abortEvery) {
        return "{\"protocol\":1,\"role\":\"producer\",\"id\":0,\"run_id\":\"r\",\"bootstrap_servers\":\"b:1\","
                + "\"topic\":\"t\",\"partitions\":3,\"rate\":0,\"payload_bytes\":32,\"duration_ms\":60000,"
                + "\"first_seq\":0,\"max_messages\":" + maxMessages + ",\"acks\":\"all\",\"idempotence\":true,"
                + "\"transaction\":{\"id\":\"r-p0\",\"messages\":" + messages + ",\"abort_every\":" + abortEvery
                + ",\"timeout_ms\":10000}}";
    }

    /** Collects lines; {@code onLine} may act on each (request a stop). */
    private static final class Lines implements LineSink {
        final List<JsonNode> lines = new ArrayList<>();
        java.util.function.Consumer<JsonNode> onLine = l -> {};

        @Override
        public synchronized void emit(Line line) {
            lines.add(line.json());
            onLine.accept(line.json());
        }

        synchronized List<JsonNode> ofType(String type) {
            return lines.stream().filter(l -> l.get("type").asText().equals(type)).collect(Collectors.toList());
        }
    }

    private static MockProducer<String, String> mock(boolean autoComplete) {
        return new MockProducer<>(autoComplete, null, new StringSerializer(), new StringSerializer());
    }

    private static Lines run(String config, Producer<String, String> first, Supplier<Producer<String, String>> factory,
            StopSignal stop, java.util.function.Consumer<JsonNode> onLine) throws ConfigError {
        Lines out = new Lines();
        out.onLine = onLine;
        new ProducerWorker(WorkerConfig.parse(config), first, factory, out, stop, Duration.ofMillis(200)).run();
        return out;
    }

    private static Lines run(String config, Producer<String, String> first, Supplier<Producer<String, String>> factory)
            throws ConfigError {
        return run(config, first, factory, new StopSignal(), l -> {});
    }

    private static final Supplier<Producer<String, String>> NO_NEW_PRODUCER = () -> {
        throw new AssertionError("no producer should be replaced");
    };

    /**
     * The protocol's order: {@code ready} first, {@code stopped} last; every {@code sending} inside
     * a {@code txn_begin}/{@code txn_end} pair of its seq range; every seq's outcome before the end
     * of its transaction; one outcome per seq.
     */
    private static void checkOrder(Lines out, long sent) {
        List<JsonNode> lines = out.lines;
        assertEquals("ready", lines.get(0).get("type").asText());
        assertEquals("stopped", lines.get(lines.size() - 1).get("type").asText());
        Long open = null;
        Set<Long> reported = new HashSet<>();
        Set<Long> sentInTxn = new HashSet<>();
        for (JsonNode l : lines) {
            switch (l.get("type").asText()) {
                case "txn_begin":
                    assertEquals(null, open, "one transaction at a time: " + l);
                    open = l.get("first_seq").asLong();
                    sentInTxn.clear();
                    break;
                case "sending":
                    assertTrue(open != null, "a message outside a transaction: " + l);
                    sentInTxn.add(l.get("seq").asLong());
                    break;
                case "outcome":
                    assertTrue(reported.add(l.get("seq").asLong()), "two outcomes: " + l);
                    break;
                case "txn_end":
                    assertEquals(open, l.get("first_seq").asLong(), l.toString());
                    for (long s = open; s <= l.get("last_seq").asLong(); s++) {
                        assertTrue(sentInTxn.contains(s), "txn_end covers a seq not sent in it: " + l);
                        assertTrue(reported.contains(s), "txn_end before the outcome of seq " + s + ": " + l);
                    }
                    open = null;
                    break;
                default:
                    break;
            }
        }
        assertEquals(null, open, "a transaction left open");
        assertEquals(sent, reported.size());
    }

    private static void expectEnd(JsonNode end, long first, long last, String outcome, String why) {
        assertEquals(first, end.get("first_seq").asLong(), end.toString());
        assertEquals(last, end.get("last_seq").asLong(), end.toString());
        assertEquals(outcome, end.get("outcome").asText(), end.toString());
        assertEquals(why, end.has("why") ? end.get("why").asText() : null, end.toString());
    }

    @Test
    void transactions_of_n_messages_commit_or_abort_on_purpose_after_their_outcomes() throws ConfigError {
        // Not auto-completed: the reports come while commit or abort flushes.
        MockProducer<String, String> producer = mock(false);
        Lines out = run(config(25, 10, 2), producer, NO_NEW_PRODUCER);
        checkOrder(out, 25);
        List<JsonNode> ends = out.ofType("txn_end");
        assertEquals(3, ends.size(), ends.toString());
        expectEnd(ends.get(0), 0, 9, "committed", null);
        expectEnd(ends.get(1), 10, 19, "aborted", "aborted on purpose");
        expectEnd(ends.get(2), 20, 24, "committed", null);
        assertTrue(!ends.get(0).has("error"), ends.get(0).toString());
        assertTrue(producer.transactionInitialized());
        assertEquals(2, producer.commitCount());
        assertEquals(15, producer.history().size(), "the aborted ones are not in the mock's log");
    }

    @Test
    void a_fenced_commit_is_unknown_and_the_next_transaction_is_on_a_new_producer() throws ConfigError {
        MockProducer<String, String> fenced = mock(false);
        fenced.commitTransactionException = new ProducerFencedException("fenced by a newer producer");
        MockProducer<String, String> next = mock(true);
        AtomicInteger made = new AtomicInteger();
        Lines out = run(config(20, 10, 0), fenced, () -> {
            made.incrementAndGet();
            return next;
        });
        checkOrder(out, 20);
        List<JsonNode> ends = out.ofType("txn_end");
        expectEnd(ends.get(0), 0, 9, "unknown", TxnEnd.WHY_COMMIT_FATAL);
        expectEnd(ends.get(1), 10, 19, "committed", null);
        assertEquals(1, made.get());
        assertTrue(fenced.closed());
        assertTrue(next.transactionInitialized());
        assertEquals(1, next.commitCount());
        // The fenced mock never reported its messages: the worker gave them unknown before txn_end.
        List<JsonNode> unreported = out.ofType("outcome").stream()
                .filter(l -> ProducerWorker.NO_REPORT_IN_TXN.equals(l.path("why").asText()))
                .collect(Collectors.toList());
        assertEquals(10, unreported.size(), unreported.toString());
    }

    @Test
    void a_failed_send_ends_its_transaction_at_once_and_aborts_it() throws ConfigError {
        MockProducer<String, String> producer = new MockProducer<>(true, null, new StringSerializer(), new StringSerializer()) {
            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<String, String> record, Callback callback) {
                if (record.key().equals("0-3")) {
                    NotEnoughReplicasException e = new NotEnoughReplicasException("NOT_ENOUGH_REPLICAS");
                    callback.onCompletion(null, e);
                    return CompletableFuture.failedFuture(e);
                }
                return super.send(record, callback);
            }
        };
        Lines out = run(config(12, 10, 0), producer, NO_NEW_PRODUCER);
        checkOrder(out, 12);
        List<JsonNode> ends = out.ofType("txn_end");
        assertEquals(2, ends.size(), ends.toString());
        expectEnd(ends.get(0), 0, 3, "aborted", TxnEnd.WHY_SEND_FAILED);
        assertTrue(ends.get(0).get("error").asText().contains("NOT_ENOUGH_REPLICAS"), ends.get(0).toString());
        expectEnd(ends.get(1), 4, 11, "committed", null);
        JsonNode failed = out.ofType("outcome").stream().filter(l -> l.get("seq").asLong() == 3).findFirst().orElseThrow();
        assertEquals("failed", failed.get("outcome").asText(), "still the callback's own outcome: " + failed);
    }

    @Test
    void a_graceful_stop_commits_what_the_open_transaction_sent() throws ConfigError {
        StopSignal stop = new StopSignal();
        Lines out = run(config(1000, 10, 0), mock(true), NO_NEW_PRODUCER, stop, l -> {
            if (l.get("type").asText().equals("sending") && l.get("seq").asLong() == 14) {
                stop.request("test");
            }
        });
        checkOrder(out, 15);
        List<JsonNode> ends = out.ofType("txn_end");
        expectEnd(ends.get(ends.size() - 1), 10, 14, "committed", null);
        assertEquals(2, out.ofType("txn_begin").size(), "no transaction begun after the stop");
    }
}
