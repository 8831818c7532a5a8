package kafkachaos.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The consumer role: subscribes with a rebalance listener, processes every record where poll
 * returned it (a sleep of {@code processing_ms}, then {@code processed} or {@code foreign}),
 * and commits per the mode:
 * <ul>
 *   <li>{@code auto}: {@code enable.auto.commit=true}; the client commits the position (what poll
 *       returned) every {@code auto.commit.interval.ms} (kafka-clients' default, 5 s, as
 *       librdkafka's; {@code commit_interval_ms} is for explicit modes), before a rebalance and at
 *       close. Lines come from {@link AutoCommitLines} (successful commits only).</li>
 *   <li>{@code manual-sync}: {@code commitSync(offsets)} of processed offsets + 1.</li>
 *   <li>{@code manual-async}: {@code commitAsync(offsets, callback)}; the {@code commit} line comes
 *       from the callback; {@code commitSync} before partitions are revoked and at the stop.</li>
 *   <li>{@code before-process}: at-most-once as Java users write it: after each poll,
 *       {@code commitSync} of everything it returned, then processing ({@code commit_every} does
 *       not apply).</li>
 * </ul>
 * Explicit modes commit when {@code commit_every} records are pending or
 * {@code commit_interval_ms} has passed since the last commit, once polls have found nothing
 * new for 1 s, and (synchronously) the pending offsets of partitions about to be revoked. A
 * failed commit keeps its offsets for the next commit of partitions still held.
 *
 * <p>Everything runs on the worker's thread (KafkaConsumer is not thread-safe): the listener
 * and commit callbacks are called from inside poll and commitSync. Only {@code wakeup()} comes
 * from another thread, at a stop.
 */
public final class ConsumerWorker {
    static final Duration POLL_TIMEOUT = Duration.ofMillis(100);
    /** How long polls must find nothing before explicit modes commit a partial batch. */
    static final long IDLE_COMMIT_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final WorkerConfig config;
    private final Consumer<byte[], byte[]> consumer;
    private final LineSink out;
    private final StopSignal stop;
    private final ErrorNotes errors;
    private final long commitIntervalNanos;

    /** partition -> next offset to commit: processed (before-process: received) and not committed. */
    private final Map<Integer, Long> pending = new TreeMap<>();
    private int sinceCommit;
    private long lastCommit = System.nanoTime();
    /** Partitions of the topic held now: a failed commit is kept only for these. */
    private final Set<Integer> assigned = new TreeSet<>();

    ConsumerWorker(WorkerConfig config, Consumer<byte[], byte[]> consumer, LineSink out, StopSignal stop) {
        this.config = config;
        this.consumer = consumer;
        this.out = out;
        this.stop = stop;
        this.errors = new ErrorNotes(out);
        this.commitIntervalNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(1, config.commitIntervalMs));
    }

    /** Creates the client and the worker; a setting kafka-clients rejects is a config error. */
    public static ConsumerWorker create(WorkerConfig config, LineSink out, StopSignal stop) throws ConfigError {
        try {
            return new ConsumerWorker(config, new KafkaConsumer<>(clientProperties(config)), out, stop);
        } catch (KafkaException e) {
            throw new ConfigError("cannot create the consumer: " + Classify.describe(e), e);
        }
    }

    /** The harness's defaults and the config's isolation, then the scenario's properties, then what the config and the mode decide. */
    static Properties clientProperties(WorkerConfig c) {
        Properties p = new Properties();
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "kafka-chaos-consumer-" + c.id);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // The classic protocol: the member's session and heartbeat are its own settings, so a
        // SIGKILLed member's partitions move after 6 s (the consumer protocol makes them the
        // broker's group settings, and kafka-clients rejects them from the client).
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        // The config's isolation, under the scenario's properties: a [consumer.java] table that
        // names isolation.level says what ran.
        if (c.isolation != null) {
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, c.isolation);
        }
        p.putAll(c.security);
        p.putAll(c.properties);
        if ("classic".equalsIgnoreCase(p.getProperty(ConsumerConfig.GROUP_PROTOCOL_CONFIG))) {
            p.putIfAbsent(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
            p.putIfAbsent(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        }
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, c.groupId);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        boolean auto = c.commit == WorkerConfig.CommitMode.AUTO;
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, Boolean.toString(auto));
        if (auto) {
            String others = p.getProperty(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, "").strip();
            p.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG,
                    (others.isEmpty() ? "" : others + ",") + AutoCommitLines.class.getName());
        }
        return p;
    }

    /** {@code ready}, consume until a stop, then finish per the mode and {@code stopped}. */
    public void run() {
        AutoCommitLines.listener = this::autoCommitted;
        consumer.subscribe(List.of(config.topic), new Rebalances());
        out.emit(Line.of("ready"));
        // Cuts a poll (or a commitSync in an outage) short.
        stop.whenRequested(consumer::wakeup);
        long idleSince = 0;
        while (!stop.requested()) {
            ConsumerRecords<byte[], byte[]> records;
            try {
                records = consumer.poll(POLL_TIMEOUT);
            } catch (WakeupException e) {
                break;
            } catch (KafkaException e) {
                errors.note("consumer error: " + Classify.describe(e));
                stop.await(POLL_TIMEOUT.toNanos());
                continue;
            }
            long now = System.nanoTime();
            if (records.isEmpty()) {
                // Nothing new for a second: commit the tail, as a service committing "every N
                // records or when idle" does. Not on every empty poll, which would commit after
                // nearly every fetch of a steady stream and hide the crash window.
                idleSince = idleSince == 0 ? now : idleSince;
                if (config.commit.explicit() && now - idleSince >= IDLE_COMMIT_AFTER_NANOS) {
                    commitPending(config.commit != WorkerConfig.CommitMode.MANUAL_ASYNC, null);
                }
                continue;
            }
            idleSince = 0;
            // What one poll returned is the buffer: all of it is processed, even after a stop.
            if (config.commit == WorkerConfig.CommitMode.BEFORE_PROCESS) {
                // At-most-once as Java users write it: poll, commitSync what was received, then
                // process. Everything one poll returned is committed before any of it is processed.
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    note(record.partition(), record.offset() + 1);
                }
                commitPending(true, null);
            }
            for (ConsumerRecord<byte[], byte[]> record : records) {
                receive(record);
            }
        }
        finish();
    }

    private void receive(ConsumerRecord<byte[], byte[]> record) {
        process(record);
        if (config.commit == WorkerConfig.CommitMode.MANUAL_SYNC || config.commit == WorkerConfig.CommitMode.MANUAL_ASYNC) {
            if (note(record.partition(), record.offset() + 1)) {
                commitPending(config.commit == WorkerConfig.CommitMode.MANUAL_SYNC, null);
            }
        }
    }

    /** The simulated work, then the line that says it is done. */
    private void process(ConsumerRecord<byte[], byte[]> record) {
        if (config.processingMs > 0) {
            long until = System.nanoTime() + (long) (config.processingMs * 1_000_000);
            for (long left; (left = until - System.nanoTime()) > 0; ) {
                LockSupport.parkNanos(left);
            }
        }
        Message.Decoded d = Message.decode(config.runId, record.value());
        if (d.kind == Message.Decoded.Kind.OURS) {
            out.emit(Line.of("processed").put("producer", d.producer).put("seq", d.seq)
                    .put("partition", record.partition()).put("offset", record.offset()));
        } else {
            out.emit(Line.of("foreign").put("partition", record.partition()).put("offset", record.offset())
                    .put("detail", d.detail()));
        }
    }

    /** Note an offset to commit; true when {@code commit_every} or {@code commit_interval_ms} is reached. */
    private boolean note(int partition, long nextOffset) {
        pending.put(partition, nextOffset);
        sinceCommit++;
        return sinceCommit >= config.commitEvery || System.nanoTime() - lastCommit >= commitIntervalNanos;
    }

    /** Commit what is pending (only {@code partitions}, if given): {@code committing}, then {@code commit} lines. */
    private void commitPending(boolean sync, Collection<Integer> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        List<Integer> taken = new ArrayList<>(pending.keySet());
        if (partitions != null) {
            taken.retainAll(partitions);
        }
        for (int p : taken) {
            offsets.put(new TopicPartition(config.topic, p), new OffsetAndMetadata(pending.remove(p)));
        }
        if (pending.isEmpty()) {
            sinceCommit = 0;
        }
        lastCommit = System.nanoTime();
        if (offsets.isEmpty()) {
            return;
        }
        for (int p : taken) {
            out.emit(Line.of("committing").put("partition", p).put("offset", offsets.get(new TopicPartition(config.topic, p)).offset()));
        }
        if (!sync) {
            try {
                consumer.commitAsync(offsets, (done, e) -> committed(offsets, e));
            } catch (KafkaException e) {
                committed(offsets, e);
            }
            return;
        }
        KafkaException error;
        try {
            consumer.commitSync(offsets);
            error = null;
        } catch (WakeupException stopping) {
            // A stop's wakeup() landed here: the worker finishes what it was doing, so commit
            // again (wakeup is one-shot; the second call is not cut short).
            error = commitSyncOnce(offsets);
        } catch (KafkaException e) {
            error = e;
        }
        committed(offsets, error);
    }

    private KafkaException commitSyncOnce(Map<TopicPartition, OffsetAndMetadata> offsets) {
        try {
            consumer.commitSync(offsets);
            return null;
        } catch (KafkaException e) {
            return e;
        }
    }

    /** The result of an explicit commit; a failure's offsets go back to pending. */
    private void committed(Map<TopicPartition, OffsetAndMetadata> offsets, Exception error) {
        new TreeMap<Integer, Long>(offsetsByPartition(offsets)).forEach((p, offset) -> {
            Line line = Line.of("commit").put("partition", p).put("offset", offset);
            out.emit(error == null ? line : line.put("error", Classify.describe(error)));
        });
        if (error != null) {
            // For partitions still held, unless a newer offset is pending: the next commit (or the
            // idle one) tries again. Dropping them would leave an idle group uncommitted for good.
            offsetsByPartition(offsets).forEach((p, offset) -> {
                if (assigned.contains(p)) {
                    pending.merge(p, offset, Math::max);
                }
            });
        }
    }

    private void autoCommitted(Map<TopicPartition, OffsetAndMetadata> offsets) {
        new TreeMap<>(offsetsByPartition(offsets)).forEach((p, offset) ->
                out.emit(Line.of("commit").put("partition", p).put("offset", offset)));
    }

    private Map<Integer, Long> offsetsByPartition(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<Integer, Long> byPartition = new HashMap<>();
        offsets.forEach((tp, om) -> {
            if (tp.topic().equals(config.topic) && om != null) {
                byPartition.put(tp.partition(), om.offset());
            }
        });
        return byPartition;
    }

    private List<Integer> ours(Collection<TopicPartition> partitions) {
        return partitions.stream().filter(tp -> tp.topic().equals(config.topic))
                .map(TopicPartition::partition).sorted().toList();
    }

    /** {@code rebalance} lines; explicit modes commit what is pending for partitions before they go. */
    private final class Rebalances implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            List<Integer> revoked = ours(partitions);
            if (revoked.isEmpty()) {
                return;
            }
            // No longer held: a failed commit of these is not kept (the next owner processes
            // them again instead).
            assigned.removeAll(revoked);
            if (config.commit.explicit()) {
                commitPending(true, revoked);
            }
            out.emit(Line.of("rebalance").put("kind", "revoke").put("partitions", revoked));
        }

        /** Lost, not revoked (the session expired): another member may own them, so no commit. */
        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            List<Integer> lost = ours(partitions);
            assigned.removeAll(lost);
            pending.keySet().removeAll(lost);
            if (!lost.isEmpty()) {
                out.emit(Line.of("rebalance").put("kind", "revoke").put("partitions", lost));
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            List<Integer> added = ours(partitions);
            assigned.addAll(added);
            out.emit(Line.of("rebalance").put("kind", "assign").put("partitions", added));
        }
    }

    /**
     * The graceful stop: no more fetching (the last poll's records are processed already),
     * commit per the mode, close (which revokes, auto-commits in auto mode, and leaves the
     * group), {@code stopped}.
     */
    private void finish() {
        // A wakeup() that arrived after the last poll returned is still pending and would cut
        // the commit in close() short: spend it on a poll of paused partitions, which returns
        // nothing and so moves no position (auto mode commits positions).
        try {
            consumer.pause(consumer.assignment());
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ZERO)) {
                receive(record); // only from a partition assigned by this very poll
            }
        } catch (KafkaException spent) {
            // WakeupException, or an error the close below meets again
        }
        if (config.commit == WorkerConfig.CommitMode.MANUAL_ASYNC) {
            // commitSync of nothing waits for the callbacks of earlier commitAsync calls, so the
            // final commit is reported last.
            try {
                consumer.commitSync(Map.of());
            } catch (KafkaException e) {
                errors.note("waiting for asynchronous commits: " + Classify.describe(e));
            }
        }
        if (config.commit.explicit()) {
            commitPending(true, null);
        }
        try {
            consumer.close();
        } catch (KafkaException e) {
            System.err.println("kafka-chaos worker: closing the consumer failed: " + Classify.describe(e));
        }
        out.emit(Line.of("stopped"));
    }
}
