package kafkachaos.worker;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The config's {@code properties}: kafka-clients' own settings by their own names. A name must
 * be one kafka-clients knows for the role ({@code ProducerConfig.configNames()},
 * {@code ConsumerConfig.configNames()}) and not one the harness owns; anything else is a config
 * error (exit 2).
 *
 * <p>The names a scenario may set (kafka-clients' names minus the harness's own) are kept in
 * {@code settings/producer.txt} and {@code settings/consumer.txt}, one a line, sorted, for the
 * harness to check scenario files before a run; {@code SettingsTest} fails when they differ from
 * the kafka-clients version in the pom. Regenerate them with
 * {@code java -jar target/kafka-chaos-worker.jar --print-settings producer > settings/producer.txt}
 * (and {@code consumer}).
 */
public final class Settings {
    /** Set by the worker from the config's own fields, never by properties. */
    public static final Set<String> PRODUCER_OWNED = Set.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.ACKS_CONFIG, // the config's `acks`
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, // the config's `idempotence`
            // The config's `transaction`: an id in properties would make a producer the worker
            // never initialises (or one the harness's restarts do not fence), and a timeout
            // there would contradict the config's `timeout_ms`.
            ProducerConfig.TRANSACTIONAL_ID_CONFIG,
            ProducerConfig.TRANSACTION_TIMEOUT_CONFIG);

    public static final Set<String> CONSUMER_OWNED = Set.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
            ConsumerConfig.GROUP_ID_CONFIG, // the config's `group_id`
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG); // the commit mode's

    private Settings() {}

    /** The names a scenario may set for {@code role}, sorted. */
    public static List<String> allowed(WorkerConfig.Role role) {
        Set<String> known = role == WorkerConfig.Role.PRODUCER ? ProducerConfig.configNames() : ConsumerConfig.configNames();
        Set<String> owned = owned(role);
        return new TreeSet<>(known).stream().filter(n -> !owned.contains(n)).collect(Collectors.toList());
    }

    static Set<String> owned(WorkerConfig.Role role) {
        return role == WorkerConfig.Role.PRODUCER ? PRODUCER_OWNED : CONSUMER_OWNED;
    }

    /** Every property name must be allowed for the role. */
    public static void check(WorkerConfig.Role role, Map<String, String> properties) throws ConfigError {
        Set<String> known = role == WorkerConfig.Role.PRODUCER ? ProducerConfig.configNames() : ConsumerConfig.configNames();
        Set<String> owned = owned(role);
        String who = role.text();
        for (String name : properties.keySet()) {
            if (owned.contains(name)) {
                throw new ConfigError("property " + name + " is set by the harness for every " + who
                        + " (from the config's own fields: acks, idempotence, transaction, group_id, bootstrap_servers, "
                        + "or the commit mode); it cannot be set in properties");
            }
            if (!known.contains(name)) {
                throw new ConfigError("property " + name + " is not a kafka-clients " + who
                        + " setting (see workers/java/settings/" + who + ".txt for the names it has)");
            }
        }
    }

    /** The file of allowed names for {@code role}: one a line, a newline after each. */
    static String listFile(WorkerConfig.Role role) {
        return allowed(role).stream().map(n -> n + "\n").collect(Collectors.joining());
    }
}
