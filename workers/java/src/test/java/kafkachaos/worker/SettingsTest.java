package kafkachaos.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
    /** settings/*.txt are what the harness checks scenario files against: they must be this kafka-clients' names. */
    @Test
    void the_settings_files_match_the_kafka_clients_version_in_the_pom() throws IOException {
        for (WorkerConfig.Role role : WorkerConfig.Role.values()) {
            Path file = Path.of("settings", role.text() + ".txt");
            String expected = Settings.listFile(role);
            String actual = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
            assertEquals(expected, actual, file + " differs from kafka-clients' " + role.text()
                    + " settings; regenerate it after `mvn -B package -DskipTests` with: java -jar "
                    + "target/kafka-chaos-worker.jar --print-settings " + role.text() + " > " + file);
        }
    }

    @Test
    void the_harness_owned_names_are_left_out_and_refused() {
        assertTrue(Settings.allowed(WorkerConfig.Role.PRODUCER).contains("linger.ms"));
        assertTrue(!Settings.allowed(WorkerConfig.Role.PRODUCER).contains("acks"));
        assertTrue(!Settings.allowed(WorkerConfig.Role.CONSUMER).contains("enable.auto.commit"));
        ConfigError e = assertThrows(ConfigError.class,
                () -> Settings.check(WorkerConfig.Role.PRODUCER, Map.of("enable.idempotence", "false")));
        assertTrue(e.getMessage().contains("idempotence"), e.getMessage());
        e = assertThrows(ConfigError.class,
                () -> Settings.check(WorkerConfig.Role.CONSUMER, Map.of("Consumer.Offsets.AutoCommit", "true")));
        assertTrue(e.getMessage().contains("not a kafka-clients consumer setting"), e.getMessage());
    }
}
