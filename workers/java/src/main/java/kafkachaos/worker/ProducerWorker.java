package kafkachaos.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The producer role: sends messages {@code first_seq}, {@code first_seq + 1}, ... with
 * {@code send(record, callback)}, paced at {@code rate}, never more than {@code max_in_flight}
 * without an outcome, until {@code duration_ms} is over, {@code max_messages} are sent or a stop
 * is requested; then closes the producer (which sends what is buffered and waits for the
 * reports) within the client's delivery timeout plus 5 s, and gives every seq still without a
 * report an {@code unknown} outcome, then writes {@code stopped}.
 *
 * <p>{@link #outstanding} holds the seqs without an outcome: whoever removes a seq from it
 * writes its outcome and releases its in-flight permit, so no seq gets two.
 *
 * <p>With the config's {@code transaction}, the producer is transactional (docs/worker-protocol.md,
 * "Transactions (producer)"): {@code initTransactions} before {@code ready}, then one transaction
 * at a time, begun (with its {@code txn_begin} line) just before its first message is sent, so a
 * stop never leaves an empty one; ended after {@code messages} messages, after a send error, or at
 * the end of the run (a graceful stop commits what was sent, unless the transaction is one to
 * abort on purpose: that rule depends on its first seq alone), by {@link TxnEnd}; its
 * {@code txn_end} line follows every outcome line of its messages. A producer {@link TxnEnd} gives
 * up on is closed, and the next transaction begins on a new one with the same
 * {@code transactional.id}.
 */
public final class ProducerWorker {
    /** Beyond the delivery timeout, for the last reports to arrive. */
    static final long CLOSE_MARGIN_MS = 5_000;
    /** A paced producer that fell behind (in-flight cap, a slow send) catches up by at most this much. */
    static final long MAX_CATCH_UP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** One wait for an in-flight permit, before the stop and the end are checked again. */
    static final long PERMIT_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** As the rdkafka worker and the harness (after a SIGKILL) write it. */
    public static final String NO_REPORT = "no delivery report by the end of the run";
    /** A message of a transaction still without a report when its txn_end is due. */
    public static final String NO_REPORT_IN_TXN = "no delivery report by the end of its transaction";
    /** Mid-run, after a transactional producer could not be made or begin a transaction, before trying again. */
    static final long RETRY_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * The close of a producer being replaced: its transaction's outcome is unknown already, so
     * what it still holds needs its reports (the close fails it), not its delivery.
     */
    static final Duration REPLACED_CLOSE = Duration.ofSeconds(5);

    private final WorkerConfig config;
    /** Null while a transactional producer is being replaced. Used by the run thread only. */
    private Producer<String, String> producer;
    /** A new producer with the same settings: the replacement of a transactional one. */
    private final Supplier<Producer<String, String>> factory;
    private final LineSink out;
    private final StopSignal stop;
    private final Duration closeTimeout;
    private final Message.Encoder encoder;
    private final Semaphore permits;
    /** seq -> System.nanoTime() when it was handed to the client. */
    private final ConcurrentHashMap<Long, Long> outstanding = new ConcurrentHashMap<>();
    private final ErrorNotes notes;
    /** The open transaction, or null. Used by the run thread only. */
    private Txn txn;

    public ProducerWorker(WorkerConfig config, Producer<String, String> producer,
            Supplier<Producer<String, String>> factory, LineSink out, StopSignal stop, Duration closeTimeout)
            throws ConfigError {
        this.config = config;
        this.producer = producer;
        this.factory = factory;
        this.out = out;
        this.notes = new ErrorNotes(out);
        this.stop = stop;
        this.closeTimeout = closeTimeout;
        this.encoder = new Message.Encoder(config.runId, config.id, config.payloadBytes);
        this.permits = new Semaphore(config.maxInFlight);
    }

    /** Validates the settings, creates the client and the worker; a bad setting is a config error. */
    public static ProducerWorker create(WorkerConfig config, LineSink out, StopSignal stop) throws ConfigError {
        Properties props = clientProperties(config);
        Duration closeTimeout = closeTimeout(props);
        Producer<String, String> producer;
        try {
            producer = new KafkaProducer<>(props);
        } catch (KafkaException e) {
            throw new ConfigError("cannot create the producer: " + Classify.describe(e), e);
        }
        return new ProducerWorker(config, producer, () -> new KafkaProducer<>(props), out, stop, closeTimeout);
    }

    /** The harness's settings, then the scenario's properties (which may override client.id), then the config's fields. */
    static Properties clientProperties(WorkerConfig c) {
        Properties p = new Properties();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "kafka-chaos-producer-" + c.id);
        p.putAll(c.security);
        p.putAll(c.properties);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        if (c.acks != null) {
            p.put(ProducerConfig.ACKS_CONFIG, c.acks);
        }
        // kafka-clients enables idempotence by default and quietly turns it off for acks other
        // than all only when it was not set: the config's field, when given, is set both ways.
        if (c.idempotence != null) {
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, Boolean.toString(c.idempotence));
        }
        // Transactions need the idempotent producer and acks all; the config's check refused
        // idempotence false and other acks, so these only fill in what it left to the client.
        if (c.transaction != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, c.transaction.id);
            if (c.transaction.timeoutMs != null) {
                p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, Integer.toString(c.transaction.timeoutMs));
            }
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            p.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        }
        return p;
    }

    /**
     * The bound on the final close: the client's own {@code delivery.timeout.ms} (as set, else
     * kafka-clients' default) plus a margin. Parsing the settings as the client will also turns a
     * bad value into a config error.
     */
    static Duration closeTimeout(Properties props) throws ConfigError {
        try {
            int delivery = new ProducerConfig(props).getInt(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG);
            return Duration.ofMillis(Math.max(0, delivery) + CLOSE_MARGIN_MS);
        } catch (KafkaException e) {
            throw new ConfigError("the producer settings are invalid: " + Classify.describe(e), e);
        }
    }

    /** ({@code initTransactions}), {@code ready}, send until the end, account for every seq, {@code stopped}. */
    public void run() {
        // The first send() would block on the topic's metadata, eating into the paced duration:
        // fetch it first, as a service warms up. A missing topic shows in every send() instead.
        try {
            producer.partitionsFor(config.topic);
        } catch (KafkaException e) {
            // Logged, not an `error` line: `ready` comes first.
            System.err.println("kafka-chaos worker: cannot read the metadata of topic " + config.topic + ": "
                    + Classify.describe(e));
        }
        if (config.transaction != null) {
            initFirst();
        }
        out.emit(Line.of("ready"));
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(Math.min(config.durationMs, Long.MAX_VALUE / 4_000_000L));
        long end = config.maxMessages == null ? Long.MAX_VALUE : saturatingAdd(config.firstSeq, config.maxMessages);
        long interval = config.rate > 0 ? Math.max(1, 1_000_000_000L / config.rate) : 0;
        long nextDue = start;
        long seq = config.firstSeq;
        while (!stop.requested() && seq < end) {
            long now = System.nanoTime();
            if (now - deadline >= 0) {
                break;
            }
            if (interval > 0 && now - nextDue < 0) {
                stop.await(Math.min(nextDue - now, deadline - now));
                continue;
            }
            if (!acquirePermit(Math.min(PERMIT_WAIT_NANOS, deadline - now))) {
                continue;
            }
            if (config.transaction != null && txn == null && !beginTxn(seq)) {
                permits.release();
                continue;
            }
            send(seq++);
            if (interval > 0) {
                nextDue += interval;
                long after = System.nanoTime();
                if (nextDue + MAX_CATCH_UP_NANOS - after < 0) {
                    nextDue = after;
                }
            }
            // A failed send dooms the transaction: it ends now rather than fill up with
            // messages the client refuses.
            if (txn != null && (txn.sent() >= config.transaction.messages || txn.sendError() != null)) {
                endTxn();
            }
        }
        if (txn != null) {
            endTxn();
        }
        finish();
    }

    /**
     * Before {@code ready}: {@code initTransactions}, retried while it times out (the
     * coordinator may still be loading; kafka-clients allows the retry). Any other error ends
     * the worker (exit 1): an id not authorized, a timeout above the broker's maximum, a broker
     * without transactions.
     */
    private void initFirst() {
        while (!stop.requested()) {
            try {
                producer.initTransactions();
                return;
            } catch (TimeoutException e) {
                // Logged, not an `error` line: `ready` comes first.
                System.err.println("kafka-chaos worker: initTransactions timed out; retrying: " + Classify.describe(e));
            }
        }
    }

    /**
     * Begins the transaction whose first message is {@code seq}, on a new producer if the last
     * one was given up; false (nothing begun, nothing written) if that cannot be done now.
     */
    private boolean beginTxn(long seq) {
        if (producer == null) {
            producer = initialised();
            if (producer == null) {
                return false; // a stop came first
            }
        }
        try {
            producer.beginTransaction();
        } catch (RuntimeException e) {
            // beginTransaction asks no broker: it fails only in an error state the worker has
            // not seen end a transaction. A new producer starts clean.
            notes.note("beginTransaction failed; replacing the producer: " + Classify.describe(e));
            close(producer, REPLACED_CLOSE);
            producer = null;
            stop.await(RETRY_PAUSE_NANOS);
            return false;
        }
        txn = new Txn(seq);
        out.emit(Line.of("txn_begin").put("first_seq", seq));
        return true;
    }

    /**
     * Mid-run, a new transactional producer with {@code initTransactions} done, which fences
     * the one before it; retried until it works or a stop is requested (then null). Errors are
     * {@code error} lines.
     */
    private Producer<String, String> initialised() {
        Producer<String, String> p = null;
        while (!stop.requested()) {
            try {
                if (p == null) {
                    p = factory.get();
                }
                p.initTransactions();
                return p;
            } catch (TimeoutException e) {
                // The same producer may retry (kafka-clients' javadoc).
                notes.note("initTransactions timed out; retrying: " + Classify.describe(e));
            } catch (RuntimeException e) {
                notes.note("cannot make a transactional producer; trying a new one: " + Classify.describe(e));
                close(p, REPLACED_CLOSE);
                p = null;
                stop.await(RETRY_PAUSE_NANOS);
            }
        }
        close(p, REPLACED_CLOSE);
        return null;
    }

    /**
     * Commits or aborts the open transaction ({@link TxnEnd}), waits for the outcome line of each
     * of its messages, then writes {@code txn_end}. A producer given up is closed first: the close
     * fails what it still holds, so those reports come too.
     */
    private void endTxn() {
        Txn t = txn;
        txn = null;
        Producer<String, String> p = producer;
        TxnEnd.Ending ending = TxnEnd.end(p::commitTransaction, p::abortTransaction,
                config.transaction.abortedOnPurpose(t.firstSeq), t.sendError());
        if (ending.replace()) {
            close(p, REPLACED_CLOSE);
            producer = null;
        }
        if (!t.awaitReported(closeTimeout.toNanos())) {
            for (long seq = t.firstSeq; seq <= t.lastSeq(); seq++) {
                if (outstanding.remove(seq) != null) {
                    out.emit(Line.of("outcome").put("seq", seq).put("outcome", Classify.UNKNOWN)
                            .put("why", NO_REPORT_IN_TXN));
                    permits.release();
                    t.reported();
                }
            }
            // A report that took its seq just before the loop is writing its line now.
            t.awaitReported(REPLACED_CLOSE.toNanos());
        }
        Line line = Line.of("txn_end").put("first_seq", t.firstSeq).put("last_seq", t.lastSeq())
                .put("outcome", ending.outcome());
        if (ending.error() != null) {
            line.put("error", ending.error());
        }
        if (ending.why() != null) {
            line.put("why", ending.why());
        }
        out.emit(line);
    }

    private static void close(Producer<String, String> p, Duration timeout) {
        if (p == null) {
            return;
        }
        try {
            p.close(timeout);
        } catch (RuntimeException e) {
            System.err.println("kafka-chaos worker: closing the producer failed: " + Classify.describe(e));
        }
    }

    private boolean acquirePermit(long nanos) {
        try {
            return permits.tryAcquire(Math.max(0, nanos), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void send(long seq) {
        Integer partition = config.routing.partitionOf(seq, config.id, config.partitions);
        Line sending = Line.of("sending").put("seq", seq);
        if (partition != null) {
            sending.put("partition", partition);
        }
        // The line is in the pipe before the client has the message: a SIGKILL from here on
        // leaves a seq the harness records as unknown.
        out.emit(sending);
        if (txn != null) {
            txn.sending(seq);
        }
        outstanding.put(seq, System.nanoTime());
        Report report = new Report(seq, txn);
        try {
            producer.send(new ProducerRecord<>(config.topic, partition, encoder.key(seq), encoder.value(seq)), report);
        } catch (RuntimeException e) {
            // Thrown by send() itself: the record never reached the accumulator.
            if (report.txn != null) {
                report.txn.failed(e);
            }
            fail(seq, report.txn, null, Classify.classify(e, Classify.Stage.REFUSED_BY_SEND));
        } finally {
            report.returned = true;
        }
    }

    /** The callback of one record; it knows whether it ran inside {@code send()} (a refusal). */
    private final class Report implements Callback {
        private final long seq;
        /** The transaction the record is part of, or null. */
        private final Txn txn;
        private final Thread caller = Thread.currentThread();
        private volatile boolean returned;

        Report(long seq, Txn txn) {
            this.seq = seq;
            this.txn = txn;
        }

        @Override
        public void onCompletion(RecordMetadata metadata, Exception exception) {
            if (exception == null) {
                acked(seq, txn, metadata);
                return;
            }
            if (txn != null) {
                txn.failed(exception);
            }
            // The I/O thread can complete a batch before send() returns, but never on this thread.
            boolean refused = !returned && Thread.currentThread() == caller;
            Classify.Stage stage = refused ? Classify.Stage.REFUSED_BY_SEND : Classify.Stage.AFTER_QUEUEING;
            fail(seq, txn, metadata, Classify.classify(exception, stage));
        }
    }

    /** The outcome line is written before the permit and the transaction's count are given back. */
    private void acked(long seq, Txn txn, RecordMetadata metadata) {
        Long sentAt = outstanding.remove(seq);
        if (sentAt == null) {
            return;
        }
        Line line = Line.of("outcome").put("seq", seq).put("outcome", "acked");
        int partition = partitionOf(metadata);
        if (partition >= 0) {
            line.put("partition", partition);
        }
        // acks=0: the client has no offset and reports -1.
        if (metadata != null && metadata.hasOffset()) {
            line.put("offset", metadata.offset());
        }
        out.emit(line.put("latency_ms", latencyMs(sentAt)));
        permits.release();
        if (txn != null) {
            txn.reported();
        }
    }

    private void fail(long seq, Txn txn, RecordMetadata metadata, Classify.Classification c) {
        Long sentAt = outstanding.remove(seq);
        if (sentAt == null) {
            return;
        }
        Line line = Line.of("outcome").put("seq", seq).put("outcome", c.outcome());
        int partition = partitionOf(metadata);
        if (partition >= 0) {
            line.put("partition", partition);
        }
        out.emit(line.put("latency_ms", latencyMs(sentAt)).put("error", c.error()).put("why", c.why()));
        permits.release();
        if (txn != null) {
            txn.reported();
        }
    }

    /** -1 when unknown; a refusal's metadata may have no topic-partition at all. */
    private static int partitionOf(RecordMetadata metadata) {
        try {
            return metadata == null ? -1 : metadata.partition();
        } catch (RuntimeException noPartition) {
            return -1;
        }
    }

    /**
     * The graceful end. {@code close(timeout)} sends what is buffered and waits for every report;
     * when the bound runs out it fails what is left ("Producer is closed forcefully.", unknown).
     * A seq still without a report after that is {@code unknown}, in seq order.
     */
    private void finish() {
        close(producer, closeTimeout);
        List<Long> left = new ArrayList<>(outstanding.keySet());
        left.sort(null);
        for (long seq : left) {
            if (outstanding.remove(seq) != null) {
                out.emit(Line.of("outcome").put("seq", seq).put("outcome", Classify.UNKNOWN).put("why", NO_REPORT));
                permits.release();
            }
        }
        out.emit(Line.of("stopped"));
    }

    private static double latencyMs(long sentAt) {
        return Math.round((System.nanoTime() - sentAt) / 100_000.0) / 10.0;
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return r < a ? Long.MAX_VALUE : r;
    }
}
