package kafkachaos.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * The config: the first line of stdin (docs/worker-protocol.md, "The config"). Fields of the
 * other role are read with their defaults and ignored; unknown fields are ignored. Defaults are
 * those of the harness's {@code WorkerConfig} (src/workload/protocol.rs).
 */
public final class WorkerConfig {
    public static final int PROTOCOL_VERSION = 1;

    public enum Role {
        PRODUCER, CONSUMER;

        String text() {
            return name().toLowerCase();
        }
    }

    /** Where a producer sends message {@code seq}. */
    public static final class Routing {
        public enum Kind { ROUND_ROBIN, HASH, PARTITION }

        public final Kind kind;
        /** For {@code PARTITION}. */
        public final int partition;

        private Routing(Kind kind, int partition) {
            this.kind = kind;
            this.partition = partition;
        }

        static Routing parse(String text) throws ConfigError {
            if (text.equals("round-robin")) {
                return new Routing(Kind.ROUND_ROBIN, -1);
            }
            if (text.equals("hash")) {
                return new Routing(Kind.HASH, -1);
            }
            if (text.startsWith("partition:")) {
                try {
                    int p = Integer.parseInt(text.substring("partition:".length()));
                    if (p >= 0) {
                        return new Routing(Kind.PARTITION, p);
                    }
                } catch (NumberFormatException e) {
                    // below
                }
            }
            throw new ConfigError("routing \"" + text + "\" is not one of round-robin, hash, partition:N");
        }

        /** The partition of message {@code seq} of producer {@code id}, or null (hash). */
        public Integer partitionOf(long seq, long id, int partitions) {
            switch (kind) {
                case ROUND_ROBIN:
                    return (int) Long.remainderUnsigned(seq + id, partitions);
                case PARTITION:
                    return partition;
                default:
                    return null;
            }
        }
    }

    /** The commit modes of the protocol (its table "Commit modes"). */
    public enum CommitMode {
        AUTO("auto"),
        AUTO_STORE_AFTER_PROCESS("auto-store-after-process"),
        MANUAL_SYNC("manual-sync"),
        MANUAL_ASYNC("manual-async"),
        BEFORE_PROCESS("before-process");

        public final String text;

        CommitMode(String text) {
            this.text = text;
        }

        static CommitMode parse(String text) throws ConfigError {
            for (CommitMode m : values()) {
                if (m.text.equals(text)) {
                    return m;
                }
            }
            throw new ConfigError("commit mode \"" + text + "\" is not one of auto, auto-store-after-process, "
                    + "manual-sync, manual-async, before-process");
        }

        /** The application commits itself (and so commit_every, commit_interval_ms and the idle commit apply). */
        public boolean explicit() {
            return this == MANUAL_SYNC || this == MANUAL_ASYNC || this == BEFORE_PROCESS;
        }
    }

    /**
     * The config's {@code transaction} (docs/worker-protocol.md, "Transactions (producer)"): the
     * producer sends in transactions of {@code messages} messages under {@code transactional.id}
     * {@code id}, and aborts some of them on purpose.
     */
    public static final class Transaction {
        /** The {@code transactional.id}; a restarted producer gets the same one and fences its predecessor. */
        public final String id;
        /** Messages per transaction, at least 1. */
        public final long messages;
        /** 0: abort none on purpose; N: abort the last of every N transactions. */
        public final long abortEvery;
        /** {@code transaction.timeout.ms}; null: the client's own default. */
        public final Integer timeoutMs;

        Transaction(String id, long messages, long abortEvery, Integer timeoutMs) {
            this.id = id;
            this.messages = messages;
            this.abortEvery = abortEvery;
            this.timeoutMs = timeoutMs;
        }

        static Transaction parse(JsonNode node) throws ConfigError {
            if (!node.isObject()) {
                throw new ConfigError("transaction must be an object {id, messages, abort_every, timeout_ms} or null");
            }
            try {
                String id = text(node, "id", null);
                if (id.isBlank()) {
                    throw new ConfigError("id is empty");
                }
                long messages = integer(node, "messages", null, 1, Long.MAX_VALUE);
                long abortEvery = integer(node, "abort_every", 0L, 0, Long.MAX_VALUE);
                Integer timeoutMs = present(node, "timeout_ms")
                        ? (int) integer(node, "timeout_ms", null, 1, Integer.MAX_VALUE) : null;
                return new Transaction(id, messages, abortEvery, timeoutMs);
            } catch (ConfigError e) {
                // The field helpers name the field alone; say it is the transaction's.
                throw new ConfigError("transaction: " + e.getMessage());
            }
        }

        /**
         * The transaction whose first seq is {@code firstSeq} is aborted on purpose: the last of
         * every {@code abort_every} transactions, counted in {@code messages} from seq 0.
         */
        public boolean abortedOnPurpose(long firstSeq) {
            return abortEvery > 0 && (firstSeq / messages) % abortEvery == abortEvery - 1;
        }
    }

    public int protocol;
    public Role role;
    public long id;
    public String runId;
    public String bootstrapServers;
    public String topic;

    // Producer.
    public int partitions;
    public long rate;
    public int payloadBytes;
    public Routing routing = new Routing(Routing.Kind.ROUND_ROBIN, -1);
    public long durationMs;
    public long firstSeq;
    /** Null: no limit. */
    public Long maxMessages;
    public int maxInFlight = 10_000;
    /** Null: the client's own default. */
    public String acks;
    /** Null: the client's own default. */
    public Boolean idempotence;
    /** Null: not transactional. */
    public Transaction transaction;

    // Consumer.
    public String groupId = "";
    public CommitMode commit = CommitMode.AUTO;
    public int commitEvery = 1;
    public long commitIntervalMs = 1000;
    public double processingMs;
    /**
     * Read and ignored: this worker processes where it receives (as with 0). KafkaConsumer is not
     * thread-safe, so a processing thread would have to hand every commit back to the poll thread;
     * records returned by one poll are the buffer, processed before the next poll.
     */
    public int processingBuffer;
    /** {@code read_committed} or {@code read_uncommitted}; null: the client's own default (uncommitted). */
    public String isolation;

    /** The client's own settings by its own names. */
    public Map<String, String> properties = Collections.emptyMap();
    /** The config's {@code security} as kafka-clients settings; the scenario's properties win. */
    public Map<String, String> security = Collections.emptyMap();

    /** Parse the config line and check it for its role, properties included. */
    public static WorkerConfig parse(String line) throws ConfigError {
        if (line == null || line.isBlank()) {
            throw new ConfigError("no config: the first line of stdin must be the worker's JSON config");
        }
        JsonNode root;
        try {
            root = Line.JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new ConfigError("the config is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ConfigError("the config must be a JSON object");
        }
        WorkerConfig c = new WorkerConfig();
        c.protocol = (int) integer(root, "protocol", null, 0, Integer.MAX_VALUE);
        if (c.protocol != PROTOCOL_VERSION) {
            throw new ConfigError("protocol " + c.protocol + " is not supported; this worker speaks protocol " + PROTOCOL_VERSION);
        }
        String role = text(root, "role", null);
        switch (role) {
            case "producer":
                c.role = Role.PRODUCER;
                break;
            case "consumer":
                c.role = Role.CONSUMER;
                break;
            default:
                throw new ConfigError("role \"" + role + "\" is not producer or consumer");
        }
        c.id = integer(root, "id", null, 0, 0xFFFF_FFFFL);
        c.runId = text(root, "run_id", null);
        Message.validateRunId(c.runId);
        c.bootstrapServers = text(root, "bootstrap_servers", null);
        if (c.bootstrapServers.isBlank()) {
            throw new ConfigError("bootstrap_servers is empty");
        }
        c.topic = text(root, "topic", null);
        if (c.topic.isBlank()) {
            throw new ConfigError("topic is empty");
        }

        c.partitions = (int) integer(root, "partitions", 0L, 0, Integer.MAX_VALUE);
        c.rate = integer(root, "rate", 0L, 0, Long.MAX_VALUE);
        c.payloadBytes = (int) integer(root, "payload_bytes", 0L, 0, 100 * 1024 * 1024);
        c.routing = Routing.parse(text(root, "routing", "round-robin"));
        c.durationMs = integer(root, "duration_ms", 0L, 0, Long.MAX_VALUE);
        c.firstSeq = integer(root, "first_seq", 0L, 0, Long.MAX_VALUE);
        c.maxMessages = present(root, "max_messages") ? integer(root, "max_messages", null, 0, Long.MAX_VALUE) : null;
        // 0 means 1, as for the rdkafka worker.
        c.maxInFlight = Math.max(1, (int) integer(root, "max_in_flight", 10_000L, 0, Integer.MAX_VALUE));
        if (present(root, "acks")) {
            JsonNode acks = root.get("acks");
            if (!acks.isTextual() && !acks.isIntegralNumber()) {
                throw new ConfigError("acks must be \"0\", \"1\" or \"all\"");
            }
            c.acks = acks.asText();
        }
        if (present(root, "idempotence")) {
            JsonNode idem = root.get("idempotence");
            if (!idem.isBoolean()) {
                throw new ConfigError("idempotence must be true or false");
            }
            c.idempotence = idem.booleanValue();
        }
        c.transaction = present(root, "transaction") ? Transaction.parse(root.get("transaction")) : null;

        c.groupId = text(root, "group_id", "");
        c.commit = CommitMode.parse(text(root, "commit", CommitMode.AUTO.text));
        // 0 means 1, as for the rdkafka worker.
        c.commitEvery = Math.max(1, (int) integer(root, "commit_every", 1L, 0, Integer.MAX_VALUE));
        c.commitIntervalMs = integer(root, "commit_interval_ms", 1000L, 0, Long.MAX_VALUE);
        c.processingMs = number(root, "processing_ms", 0.0);
        c.processingBuffer = (int) integer(root, "processing_buffer", 0L, 0, Integer.MAX_VALUE);
        if (present(root, "isolation")) {
            c.isolation = text(root, "isolation", null);
            if (!c.isolation.equals("read_committed") && !c.isolation.equals("read_uncommitted")) {
                throw new ConfigError("isolation \"" + c.isolation + "\" is not read_committed or read_uncommitted");
            }
        }

        Map<String, String> properties = new TreeMap<>();
        if (present(root, "properties")) {
            JsonNode props = root.get("properties");
            if (!props.isObject()) {
                throw new ConfigError("properties must be an object of setting names to string values");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode v = e.getValue();
                if (!v.isValueNode() || v.isNull()) {
                    throw new ConfigError("property " + e.getKey() + " must have a string value");
                }
                properties.put(e.getKey(), v.asText());
            }
        }
        c.properties = Collections.unmodifiableMap(properties);
        c.security = Security.properties(root.get("security"));
        c.check();
        return c;
    }

    /** What the role needs beyond the types. */
    private void check() throws ConfigError {
        String who = role.text() + " " + id;
        if (role == Role.PRODUCER) {
            if (partitions < 1) {
                throw new ConfigError(who + ": partitions must be at least 1 (the topic's partitions)");
            }
            if (routing.kind == Routing.Kind.PARTITION && routing.partition >= partitions) {
                throw new ConfigError(who + ": routing partition:" + routing.partition + " but the topic has "
                        + partitions + " partitions (0.." + (partitions - 1) + ")");
            }
            // kafka-clients would refuse both when the producer is created; said here in the
            // config's own terms. acks is not forced to all: the cell's name would no longer
            // say what ran.
            if (transaction != null && Boolean.FALSE.equals(idempotence)) {
                throw new ConfigError(who + ": a transactional producer is idempotent, but idempotence is false");
            }
            if (transaction != null && acks != null && !acks.equals("all") && !acks.equals("-1")) {
                throw new ConfigError(who + ": a transactional producer needs acks all, not " + acks);
            }
        } else {
            if (groupId.isBlank()) {
                throw new ConfigError(who + ": group_id is empty");
            }
            if (commit == CommitMode.AUTO_STORE_AFTER_PROCESS) {
                throw new ConfigError(who + ": commit mode auto-store-after-process cannot be expressed with "
                        + "kafka-clients: it has no offset store apart from commits (auto-commit commits the "
                        + "position of what poll returned); use manual-sync or manual-async");
            }
            if (!(processingMs >= 0) || Double.isInfinite(processingMs)) {
                throw new ConfigError(who + ": processing_ms must be a finite number of milliseconds, 0 or more");
            }
        }
        Settings.check(role, properties);
    }

    private static boolean present(JsonNode root, String field) {
        JsonNode v = root.get(field);
        return v != null && !v.isNull();
    }

    private static String text(JsonNode root, String field, String dflt) throws ConfigError {
        if (!present(root, field)) {
            if (dflt == null) {
                throw new ConfigError("the config has no " + field);
            }
            return dflt;
        }
        JsonNode v = root.get(field);
        if (!v.isTextual()) {
            throw new ConfigError(field + " must be a string");
        }
        return v.textValue();
    }

    private static long integer(JsonNode root, String field, Long dflt, long min, long max) throws ConfigError {
        if (!present(root, field)) {
            if (dflt == null) {
                throw new ConfigError("the config has no " + field);
            }
            return dflt;
        }
        JsonNode v = root.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new ConfigError(field + " must be a whole number");
        }
        long n = v.longValue();
        if (n < min || n > max) {
            throw new ConfigError(field + " = " + n + " is out of range (" + min + ".." + max + ")");
        }
        return n;
    }

    private static double number(JsonNode root, String field, double dflt) throws ConfigError {
        if (!present(root, field)) {
            return dflt;
        }
        JsonNode v = root.get(field);
        if (!v.isNumber()) {
            throw new ConfigError(field + " must be a number");
        }
        return v.doubleValue();
    }
}
