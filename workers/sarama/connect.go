package main

// Creating a client. A worker may be started while the cluster is down (a restart during a
// fault); it waits for the cluster, before `ready`, rather than crash.

import "time"

// connect creates the client, trying again while the cluster cannot be reached (a worker may be
// started while brokers are down) until it exists, the worker is stopped (nil, false) or the
// deadline passes (nil, true); a zero deadline never passes.
func connect[T any](stop <-chan struct{}, deadline time.Time, log func(string, ...any), what string, create func() (T, error)) (T, bool) {
	var zero T
	backoff := 250 * time.Millisecond
	for {
		client, err := create()
		if err == nil {
			return client, false
		}
		if !deadline.IsZero() && !time.Now().Add(backoff).Before(deadline) {
			log("cannot create the %s: %v; giving up, its time is over", what, err)
			return zero, true
		}
		log("cannot create the %s yet: %v; trying again in %v", what, err, backoff)
		select {
		case <-stop:
			return zero, false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}
