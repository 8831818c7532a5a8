package main

import (
	"errors"
	"testing"
	"time"
)

func TestConnectGivesUpAtItsDeadline(t *testing.T) {
	stop := make(chan struct{})
	began := time.Now()
	client, late := connect(stop, began.Add(600*time.Millisecond), func(string, ...any) {}, "producer",
		func() (*int, error) { return nil, errors.New("no broker") })
	if client != nil || !late {
		t.Fatalf("connect = %v, late %v; want nil, late", client, late)
	}
	if waited := time.Since(began); waited > 3*time.Second {
		t.Fatalf("connect waited %v past a 600 ms deadline", waited)
	}
}

func TestConnectWithoutADeadlineEndsOnStop(t *testing.T) {
	stop := make(chan struct{})
	close(stop)
	client, late := connect(stop, time.Time{}, func(string, ...any) {}, "consumer group",
		func() (*int, error) { return nil, errors.New("no broker") })
	if client != nil || late {
		t.Fatalf("connect = %v, late %v; want nil, not late", client, late)
	}
}
