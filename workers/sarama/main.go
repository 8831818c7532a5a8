// sarama-worker: a kafka-chaos worker (docs/worker-protocol.md) that drives
// github.com/IBM/sarama as one producer or one consumer of a cell. It takes no arguments: the
// config is the first line of stdin; protocol lines go to stdout, logs to stderr.
//
// Exit codes: 0 after a graceful stop (SIGTERM, SIGINT, EOF on stdin, a producer's end);
// 2 for an invalid config (an unknown setting, a commit mode sarama cannot express), with the
// reason on stderr; anything else is a crash.
package main

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/IBM/sarama"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	// A write to a closed stdout then fails with EPIPE (a stop) instead of killing the worker.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(run(os.Stdin, os.Stdout, os.Stderr, signals))
}

// run is the whole worker; it returns the exit code.
func run(stdin io.Reader, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	logger := log.New(stderr, "[sarama-worker] ", log.LstdFlags|log.Lmicroseconds)
	sarama.Logger = log.New(stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)

	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintf(stderr, "sarama-worker: cannot read the config from stdin: %v\n", err)
		return 2
	}
	cfg, err := parseConfig(line)
	if err != nil {
		fmt.Fprintf(stderr, "sarama-worker: invalid config: %v\n", err)
		return 2
	}
	sc, err := saramaConfig(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sarama-worker: invalid config: %v\n", err)
		return 2
	}
	logger.SetPrefix(fmt.Sprintf("[sarama-worker %s %d] ", cfg.Role, cfg.id))

	// Stop gracefully on a signal, on EOF on stdin (the harness is gone) or when stdout fails.
	stop := make(chan struct{})
	var once sync.Once
	stopNow := func(why string) {
		once.Do(func() {
			logger.Printf("stopping: %s", why)
			close(stop)
		})
	}
	go func() {
		_, _ = io.Copy(io.Discard, in)
		stopNow("EOF on stdin")
	}()
	go func() {
		if s, ok := <-signals; ok {
			stopNow(s.String())
		}
	}()
	out := newOut(stdout)
	go func() {
		<-out.gone
		stopNow("stdout is closed")
	}()

	if cfg.producing {
		err = runProducer(cfg, sc, out, stop, logger.Printf, func() (sarama.AsyncProducer, error) {
			return sarama.NewAsyncProducer(cfg.brokers, sc)
		})
	} else {
		err = runConsumer(cfg, out, stop, logger.Printf, func() (sarama.ConsumerGroup, error) {
			return sarama.NewConsumerGroup(cfg.brokers, cfg.GroupID, sc)
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "sarama-worker: %v\n", err)
		if isConfigError(err) {
			return 2
		}
		return 1
	}
	return 0
}
