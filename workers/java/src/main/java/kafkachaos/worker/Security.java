package kafkachaos.worker;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The config's {@code security} (docs/worker-protocol.md) in kafka-clients' own settings: the
 * protocol, SASL through a JAAS line, and a PEM CA file as a PEM trust store.
 */
final class Security {
    private Security() {}

    /** kafka-clients' settings for {@code node} (absent or null: none, plaintext). */
    static Map<String, String> properties(JsonNode node) throws ConfigError {
        if (node == null || node.isNull()) {
            return Collections.emptyMap();
        }
        if (!node.isObject()) {
            throw new ConfigError("security must be an object");
        }
        String protocol = node.path("protocol").asText("");
        boolean sasl;
        boolean tls;
        switch (protocol) {
            case "PLAINTEXT" -> { sasl = false; tls = false; }
            case "SSL" -> { sasl = false; tls = true; }
            case "SASL_PLAINTEXT" -> { sasl = true; tls = false; }
            case "SASL_SSL" -> { sasl = true; tls = true; }
            default -> throw new ConfigError("security.protocol \"" + protocol
                    + "\": one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
        }
        JsonNode credentials = node.get("sasl");
        boolean hasSasl = credentials != null && !credentials.isNull();
        if (sasl != hasSasl) {
            throw new ConfigError("security: protocol " + protocol + " and sasl do not agree");
        }
        Map<String, String> p = new TreeMap<>();
        p.put("security.protocol", protocol);
        if (sasl) {
            String mechanism = credentials.path("mechanism").asText("");
            String module = switch (mechanism) {
                case "PLAIN" -> "org.apache.kafka.common.security.plain.PlainLoginModule";
                case "SCRAM-SHA-256", "SCRAM-SHA-512" -> "org.apache.kafka.common.security.scram.ScramLoginModule";
                default -> throw new ConfigError("security.sasl.mechanism \"" + mechanism
                        + "\": one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
            };
            p.put("sasl.mechanism", mechanism);
            p.put("sasl.jaas.config", module + " required username=\"" + jaasEscape(credentials.path("username").asText(""))
                    + "\" password=\"" + jaasEscape(credentials.path("password").asText("")) + "\";");
        }
        JsonNode ca = node.get("ca_file");
        if (ca != null && !ca.isNull()) {
            if (!tls) {
                throw new ConfigError("security.ca_file is for TLS; protocol " + protocol + " does not use it");
            }
            p.put("ssl.truststore.type", "PEM");
            p.put("ssl.truststore.location", ca.asText());
        }
        return Collections.unmodifiableMap(p);
    }

    /** A JAAS quoted string: backslash and quote escaped. */
    private static String jaasEscape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
