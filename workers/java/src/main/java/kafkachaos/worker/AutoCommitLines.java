package kafkachaos.worker;

import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The one report kafka-clients gives of its automatic commits: {@code ConsumerInterceptor.onCommit},
 * called (on the polling thread) after every successful commit, the periodic auto-commit and the
 * one before a rebalance or at close included. Failed automatic commits are only logged by the
 * client (to stderr), so they have no {@code commit} line. Installed only in {@code auto} mode,
 * where the worker makes no commit of its own.
 *
 * <p>kafka-clients creates interceptors by class name, so the worker hands it its listener
 * through a static field (one consumer per process).
 */
public final class AutoCommitLines implements ConsumerInterceptor<byte[], byte[]> {
    static volatile Consumer<Map<TopicPartition, OffsetAndMetadata>> listener = offsets -> {};

    @Override
    public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        listener.accept(offsets);
    }

    @Override
    public void close() {}

    @Override
    public void configure(Map<String, ?> configs) {}
}
