package kafkachaos.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.QuorumInfo;

/**
 * {@code --describe-quorum}: the KRaft quorum as the admin API reports it (DescribeQuorum, which a
 * broker forwards to the active controller), for the harness's target {@code controller} on a
 * cluster it did not start. The controller id in metadata is a random broker under KRaft, so it
 * cannot tell. Reads {@code {"bootstrap_servers":..., "security":...}} on stdin and writes
 * {@code {"leader_id":N,"voters":[...]}}; exit 1 when the cluster does not answer in time.
 */
final class Quorum {
    private static final long TIMEOUT_MS = 15_000;

    private Quorum() {}

    static int describe() {
        try {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            JsonNode root = line == null ? null : Line.JSON.readTree(line);
            if (root == null || !root.path("bootstrap_servers").isTextual()) {
                System.err.println("--describe-quorum: stdin must be {\"bootstrap_servers\":\"host:port\",\"security\":...}");
                return 2;
            }
            Properties p = new Properties();
            p.putAll(Security.properties(root.get("security")));
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, root.get("bootstrap_servers").asText());
            p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
            p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS));
            try (Admin admin = Admin.create(p)) {
                QuorumInfo quorum = admin.describeMetadataQuorum().quorumInfo().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                ObjectNode out = Line.JSON.createObjectNode();
                out.put("leader_id", quorum.leaderId());
                var voters = out.putArray("voters");
                quorum.voters().forEach(v -> voters.add(v.replicaId()));
                System.out.println(Line.JSON.writeValueAsString(out));
                return 0;
            }
        } catch (ConfigError e) {
            System.err.println("--describe-quorum: " + e.getMessage());
            return 2;
        } catch (ExecutionException | TimeoutException | IOException e) {
            System.err.println("--describe-quorum: no answer: " + e);
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
