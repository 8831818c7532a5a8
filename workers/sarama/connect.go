package main

// Creating a client. A worker may be started while the cluster is down (a restart during a
// fault); it waits for the cluster, before `ready`, rather than crash.

import "time"

// connect creates the client, trying again while the cluster cannot be reached (a worker may be
// started while brokers are down) until it exists or the worker is stopped (nil).
func connect[T any](stop <-chan struct{}, log func(string, ...any), what string, create func() (T, error)) T {
	var zero T
	backoff := 250 * time.Millisecond
	for {
		client, err := create()
		if err == nil {
			return client
		}
		log("cannot create the %s yet: %v; trying again in %v", what, err, backoff)
		select {
		case <-stop:
			return zero
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}
