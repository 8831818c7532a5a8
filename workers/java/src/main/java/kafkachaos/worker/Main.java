package kafkachaos.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar kafka-chaos-worker.jar}: one producer or consumer of the worker protocol
 * (docs/worker-protocol.md). The config is the first line of stdin; lines go to stdout.
 *
 * <p>Exit codes: 0 after a graceful stop, 2 for an invalid config (the reason on stderr), 1
 * when the worker itself fails.
 *
 * <p>SIGTERM and SIGINT run the JVM's shutdown hooks, and once a hook returns the JVM exits with
 * 128 + the signal. So the hook requests the stop, waits for the worker to write
 * {@code stopped}, and ends the process itself with {@code halt} and the worker's exit code.
 * A normal end goes through the same hook (from {@code System.exit}).
 *
 * <p>{@code --print-settings producer|consumer} prints the property names a scenario may set
 * (settings/*.txt). {@code --describe-quorum} prints the KRaft quorum (see {@link Quorum}).
 */
public final class Main {
    private static final String WHO = "kafka-chaos java worker: ";

    private static final StopSignal stop = new StopSignal();
    /** Counted down once the exit code is final. */
    private static final CountDownLatch done = new CountDownLatch(1);
    private static volatile int exitCode = 1;

    private Main() {}

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("--describe-quorum")) {
            System.exit(Quorum.describe());
        }
        if (args.length > 0) {
            System.exit(printSettings(args));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(Main::shutdown, "shutdown"));
        try {
            exitCode = run();
        } catch (RuntimeException | Error e) {
            System.err.println(WHO + "failed");
            e.printStackTrace();
            exitCode = 1;
        }
        done.countDown();
        System.exit(exitCode);
    }

    private static void shutdown() {
        stop.request("signal");
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Runtime.getRuntime().halt(exitCode);
    }

    private static int run() {
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        WorkerConfig config;
        try {
            config = WorkerConfig.parse(stdin.readLine());
        } catch (ConfigError e) {
            System.err.println(WHO + e.getMessage());
            return 2;
        } catch (IOException e) {
            System.err.println(WHO + "cannot read the config from stdin: " + e);
            return 2;
        }
        LineSink out = new StdoutSink(() -> stop.request("stdout closed"));
        // fd 1 is the protocol's alone: anything a library prints goes to stderr.
        System.setOut(System.err);
        Thread watch = new Thread(() -> watchStdin(stdin), "stdin-watch");
        watch.setDaemon(true);
        watch.start();

        Runnable worker;
        try {
            worker = switch (config.role) {
                case PRODUCER -> ProducerWorker.create(config, out, stop)::run;
                case CONSUMER -> ConsumerWorker.create(config, out, stop)::run;
            };
        } catch (ConfigError e) {
            System.err.println(WHO + e.getMessage());
            return 2;
        }
        worker.run();
        return 0;
    }

    /** Nothing more is expected on stdin; its end means the harness is gone. */
    private static void watchStdin(BufferedReader stdin) {
        try {
            while (stdin.readLine() != null) {
                // ignored
            }
        } catch (IOException e) {
            // gone all the same
        }
        stop.request("stdin closed");
    }

    private static int printSettings(String[] args) {
        if (args.length == 2 && args[0].equals("--print-settings")) {
            for (WorkerConfig.Role role : WorkerConfig.Role.values()) {
                if (role.name().equalsIgnoreCase(args[1])) {
                    System.out.print(Settings.listFile(role));
                    System.out.flush();
                    return 0;
                }
            }
        }
        System.err.println("usage: java -jar kafka-chaos-worker.jar   (the config: one JSON line on stdin)\n"
                + "       java -jar kafka-chaos-worker.jar --print-settings producer|consumer\n"
                + "       java -jar kafka-chaos-worker.jar --describe-quorum   ({\"bootstrap_servers\":...} on stdin)");
        return 2;
    }
}
