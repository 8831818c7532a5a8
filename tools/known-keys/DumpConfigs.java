// Prints the configuration names Kafka itself knows, one per line: "topic <name>" for
// LogConfig.configNames() and "broker <name>" for KafkaConfig.configDef().names(). Run by gen.py
// as a single-file source program (java -cp <the broker's jars> DumpConfigs.java); nothing is
// filtered or sorted here.
import kafka.server.KafkaConfig;
import org.apache.kafka.storage.internals.log.LogConfig;

public class DumpConfigs {
    public static void main(String[] args) {
        for (String name : LogConfig.configNames()) {
            System.out.println("topic " + name);
        }
        for (String name : KafkaConfig.configDef().names()) {
            System.out.println("broker " + name);
        }
    }
}
