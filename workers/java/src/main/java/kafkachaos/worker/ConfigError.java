package kafkachaos.worker;

/** The config cannot be run: the worker exits 2 with this message on stderr. */
public final class ConfigError extends Exception {
    public ConfigError(String message) {
        super(message);
    }

    public ConfigError(String message, Throwable cause) {
        super(message, cause);
    }
}
