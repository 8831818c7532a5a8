package kafkachaos.worker;

/** Where a worker writes its protocol lines. Implementations are safe to call from any thread. */
public interface LineSink {
    void emit(Line line);
}
