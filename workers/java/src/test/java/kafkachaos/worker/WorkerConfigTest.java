package kafkachaos.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {
    private static final String PRODUCER = "{\"protocol\":1,\"role\":\"producer\",\"id\":2,\"run_id\":\"r\","
            + "\"bootstrap_servers\":\"b:1\",\"topic\":\"t\",\"partitions\":4,\"rate\":10,\"payload_bytes\":64,"
            + "\"routing\":\"round-robin\",\"duration_ms\":1000,\"first_seq\":5,\"max_messages\":null,"
            + "\"max_in_flight\":0,\"acks\":\"all\",\"idempotence\":false,\"properties\":{\"linger.ms\":\"5\"}}";

    private static String consumer(String commit, String properties) {
        return "{\"protocol\":1,\"role\":\"consumer\",\"id\":1,\"run_id\":\"r\",\"bootstrap_servers\":\"b:1\","
                + "\"topic\":\"t\",\"group_id\":\"g\",\"commit\":\"" + commit + "\",\"properties\":" + properties + "}";
    }

    @Test
    void a_producer_config_reads_with_the_harness_defaults() throws ConfigError {
        WorkerConfig c = WorkerConfig.parse(PRODUCER);
        assertEquals(WorkerConfig.Role.PRODUCER, c.role);
        assertEquals(5, c.firstSeq);
        assertNull(c.maxMessages);
        assertEquals(1, c.maxInFlight, "0 means 1, as for the rdkafka worker");
        assertEquals(Integer.valueOf(3), c.routing.partitionOf(5, 2, 4), "(seq + id) % partitions");
        Properties p = ProducerWorker.clientProperties(c);
        assertEquals("all", p.get("acks"));
        assertEquals("false", p.get("enable.idempotence"), "set explicitly both ways");
        assertEquals("5", p.get("linger.ms"));
    }

    @Test
    void hash_routing_sets_no_partition() throws ConfigError {
        WorkerConfig c = WorkerConfig.parse(PRODUCER.replace("round-robin", "hash"));
        assertNull(c.routing.partitionOf(5, 2, 4));
        assertEquals(Integer.valueOf(1), WorkerConfig.parse(PRODUCER.replace("round-robin", "partition:1"))
                .routing.partitionOf(5, 2, 4));
    }

    @Test
    void consumer_defaults_and_commit_modes() throws ConfigError {
        Properties auto = ConsumerWorker.clientProperties(WorkerConfig.parse(consumer("auto", "{}")));
        assertEquals("true", auto.get("enable.auto.commit"));
        assertEquals("earliest", auto.get("auto.offset.reset"));
        assertEquals("6000", auto.get("session.timeout.ms"));
        assertEquals("1000", auto.get("heartbeat.interval.ms"));
        assertEquals("classic", auto.get("group.protocol"));
        assertEquals(AutoCommitLines.class.getName(), auto.get("interceptor.classes"));
        Properties manual = ConsumerWorker.clientProperties(
                WorkerConfig.parse(consumer("manual-sync", "{\"session.timeout.ms\":\"10000\"}")));
        assertEquals("false", manual.get("enable.auto.commit"));
        assertEquals("10000", manual.get("session.timeout.ms"));
        assertNull(manual.get("interceptor.classes"));
    }

    private static final String TRANSACTIONAL = PRODUCER.replace("\"idempotence\":false",
            "\"idempotence\":true,\"transaction\":{\"id\":\"r-producer-2\",\"messages\":10,\"abort_every\":3,"
                    + "\"timeout_ms\":10000}");

    @Test
    void a_transaction_makes_a_transactional_idempotent_producer() throws ConfigError {
        WorkerConfig c = WorkerConfig.parse(TRANSACTIONAL);
        assertEquals("r-producer-2", c.transaction.id);
        Properties p = ProducerWorker.clientProperties(c);
        assertEquals("r-producer-2", p.get("transactional.id"));
        assertEquals("10000", p.get("transaction.timeout.ms"));
        assertEquals("true", p.get("enable.idempotence"));
        assertEquals("all", p.get("acks"));
        // Without acks and idempotence in the config, the transaction sets what it needs.
        Properties bare = ProducerWorker.clientProperties(WorkerConfig.parse(TRANSACTIONAL
                .replace("\"acks\":\"all\",", "").replace("\"idempotence\":true,", "")
                .replace(",\"abort_every\":3,\"timeout_ms\":10000", "")));
        assertEquals("all", bare.get("acks"));
        assertEquals("true", bare.get("enable.idempotence"));
        assertNull(bare.get("transaction.timeout.ms"), "the client's default");
        assertNull(WorkerConfig.parse(PRODUCER).transaction);
        assertNull(ProducerWorker.clientProperties(WorkerConfig.parse(PRODUCER)).get("transactional.id"));
        assertNull(WorkerConfig.parse(PRODUCER.replace("\"idempotence\":false", "\"transaction\":null")).transaction);
    }

    @Test
    void the_last_of_every_abort_every_transactions_is_aborted_on_purpose() throws ConfigError {
        WorkerConfig.Transaction t = WorkerConfig.parse(TRANSACTIONAL).transaction;
        // messages 10, abort_every 3: transactions 0, 1, 2, 3, ... begin at 0, 10, 20, 30, ...
        assertTrue(!t.abortedOnPurpose(0) && !t.abortedOnPurpose(10) && t.abortedOnPurpose(20));
        assertTrue(!t.abortedOnPurpose(30) && t.abortedOnPurpose(50) && t.abortedOnPurpose(25));
        WorkerConfig.Transaction never = WorkerConfig.parse(TRANSACTIONAL.replace("\"abort_every\":3", "\"abort_every\":0")).transaction;
        assertTrue(!never.abortedOnPurpose(0) && !never.abortedOnPurpose(20));
        WorkerConfig.Transaction all = WorkerConfig.parse(TRANSACTIONAL.replace("\"abort_every\":3", "\"abort_every\":1")).transaction;
        assertTrue(all.abortedOnPurpose(0) && all.abortedOnPurpose(17));
    }

    @Test
    void the_consumers_isolation_is_its_isolation_level_under_the_properties() throws ConfigError {
        String committed = consumer("manual-sync", "{}").replace("\"group_id\"", "\"isolation\":\"read_committed\",\"group_id\"");
        assertEquals("read_committed", ConsumerWorker.clientProperties(WorkerConfig.parse(committed)).get("isolation.level"));
        assertNull(ConsumerWorker.clientProperties(WorkerConfig.parse(consumer("manual-sync", "{}"))).get("isolation.level"),
                "absent: the client's default");
        String overridden = committed.replace("\"properties\":{}", "\"properties\":{\"isolation.level\":\"read_uncommitted\"}");
        assertEquals("read_uncommitted", ConsumerWorker.clientProperties(WorkerConfig.parse(overridden)).get("isolation.level"));
    }

    @Test
    void invalid_configs_are_refused_with_a_reason() {
        String[][] cases = {
                {consumer("auto-store-after-process", "{}"), "auto-store-after-process"},
                {consumer("manual-sync", "{\"Consumer.Offsets.AutoCommit.Enable\":\"true\"}"), "not a kafka-clients"},
                {consumer("manual-sync", "{\"enable.auto.commit\":\"true\"}"), "set by the harness"},
                {consumer("manual-sync", "{\"group.id\":\"x\"}"), "set by the harness"},
                {PRODUCER.replace("\"linger.ms\"", "\"acks\""), "set by the harness"},
                {PRODUCER.replace("\"protocol\":1", "\"protocol\":2"), "protocol 2"},
                {PRODUCER.replace("round-robin", "partition:4"), "partition:4"},
                {"not json", "not valid JSON"},
                {TRANSACTIONAL.replace("\"idempotence\":true", "\"idempotence\":false"), "idempotence is false"},
                {TRANSACTIONAL.replace("\"acks\":\"all\"", "\"acks\":\"1\""), "needs acks all"},
                {TRANSACTIONAL.replace("\"messages\":10", "\"messages\":0"), "transaction: messages = 0"},
                {TRANSACTIONAL.replace("\"id\":\"r-producer-2\",", ""), "transaction: the config has no id"},
                {TRANSACTIONAL.replace("\"transaction\":{", "\"transaction\":[{").replace("10000}", "10000}]"), "transaction must be"},
                {PRODUCER.replace("\"linger.ms\"", "\"transactional.id\""), "set by the harness"},
                {PRODUCER.replace("\"linger.ms\"", "\"transaction.timeout.ms\""), "set by the harness"},
                {consumer("manual-sync", "{}").replace("\"group_id\"", "\"isolation\":\"read_everything\",\"group_id\""),
                        "read_committed or read_uncommitted"},
        };
        for (String[] c : cases) {
            ConfigError e = assertThrows(ConfigError.class, () -> WorkerConfig.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
    }

    @Test
    void security_becomes_kafka_clients_settings_under_the_scenarios_properties() throws ConfigError {
        String scram = PRODUCER.replace("\"properties\"", "\"security\":{\"protocol\":\"SASL_SSL\",\"sasl\":{\"mechanism\":"
                + "\"SCRAM-SHA-512\",\"username\":\"u\",\"password\":\"p\\\"q\"},\"ca_file\":\"/ca.pem\"},\"properties\"");
        Properties p = ProducerWorker.clientProperties(WorkerConfig.parse(scram));
        assertEquals("SASL_SSL", p.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"));
        assertEquals("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\\\"q\";",
                p.get("sasl.jaas.config"));
        assertEquals("PEM", p.get("ssl.truststore.type"));
        assertEquals("/ca.pem", p.get("ssl.truststore.location"));
        String mismatch = PRODUCER.replace("\"properties\"", "\"security\":{\"protocol\":\"SSL\",\"sasl\":{\"mechanism\":"
                + "\"PLAIN\",\"username\":\"u\",\"password\":\"p\"}},\"properties\"");
        assertThrows(ConfigError.class, () -> WorkerConfig.parse(mismatch));
    }
}
