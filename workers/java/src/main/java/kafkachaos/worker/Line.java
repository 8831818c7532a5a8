package kafkachaos.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Collection;

/**
 * One protocol line (docs/worker-protocol.md, "Lines"): a JSON object whose first field is
 * {@code type}, the other fields in the order they are put. Optional fields are simply not put.
 */
public final class Line {
    static final ObjectMapper JSON = new ObjectMapper();

    private final ObjectNode node = JSON.createObjectNode();

    private Line(String type) {
        node.put("type", type);
    }

    public static Line of(String type) {
        return new Line(type);
    }

    public Line put(String field, String value) {
        node.put(field, value);
        return this;
    }

    public Line put(String field, long value) {
        node.put(field, value);
        return this;
    }

    public Line put(String field, double value) {
        node.put(field, value);
        return this;
    }

    public Line put(String field, Collection<Integer> values) {
        ArrayNode array = node.putArray(field);
        values.forEach(array::add);
        return this;
    }

    public String type() {
        return node.get("type").asText();
    }

    public ObjectNode json() {
        return node;
    }

    /** The line as written: the JSON object and a newline, in one buffer (one write). */
    public byte[] bytes() {
        try {
            byte[] json = JSON.writeValueAsBytes(node);
            byte[] line = new byte[json.length + 1];
            System.arraycopy(json, 0, line, 0, json.length);
            line[json.length] = '\n';
            return line;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a worker line does not serialize", e);
        }
    }

    @Override
    public String toString() {
        return new String(bytes(), StandardCharsets.UTF_8).stripTrailing();
    }
}
