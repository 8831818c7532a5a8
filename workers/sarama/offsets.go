package main

// How the worker learns whether an explicit commit succeeded. sarama's
// ConsumerGroupSession.Commit() returns nothing: a failed commit reaches the application, if at
// all, as an error on the group's Errors() channel, asynchronously and without the offset, and
// some failures (coordinator moved, offsets loading) are not reported at all; the offset simply
// stays marked for the next commit. What sarama itself knows is in its partition offset manager
// (offset_manager.go, partitionOffsetManager): the marked `offset`, and `dirty`, which only a
// successful OffsetCommit response for exactly that offset clears (updateCommitted).
//
// So after each explicit Commit() the worker reads those two fields, under sarama's own locks
// (offsetManager.pomsLock, partitionOffsetManager.lock), through reflection: it changes nothing
// in sarama. The worker holds its commit lock while it marks and commits (consumer.go), so
// nothing is marked between the Commit() and the read. The layout is sarama v1.61.1's (go.mod
// pins it); offsets_test.go checks it against a real session with sarama's MockBroker, and if a
// later sarama changes it, pomState returns an error and the worker writes no `commit` lines
// rather than guess.

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/IBM/sarama"
)

var errNotManaged = errors.New("sarama does not manage this partition in this session")

// pomState returns the offset sarama's offset manager holds for (topic, partition) in this
// session, and whether it still has to commit it (dirty).
func pomState(sess sarama.ConsumerGroupSession, topic string, partition int32) (offset int64, dirty bool, err error) {
	v := reflect.ValueOf(sess)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, false, fmt.Errorf("the session is a %T, not sarama's consumerGroupSession", sess)
	}
	om, err := pointerField(v.Elem(), "offsets")
	if err != nil {
		return 0, false, err
	}
	pomsLock, err := field(om, "pomsLock", reflect.TypeFor[sync.RWMutex]())
	if err != nil {
		return 0, false, err
	}
	poms := om.FieldByName("poms")
	if poms.Kind() != reflect.Map || poms.Type().Key().Kind() != reflect.String {
		return 0, false, errors.New("sarama's offset manager has no poms map")
	}
	byTopic := poms.Type().Elem()
	if byTopic.Kind() != reflect.Map || byTopic.Key() != reflect.TypeFor[int32]() {
		return 0, false, errors.New("sarama's poms map is not by topic and partition")
	}

	lock := (*sync.RWMutex)(unsafe.Pointer(pomsLock.UnsafeAddr()))
	lock.RLock()
	var pom reflect.Value
	if partitions := poms.MapIndex(reflect.ValueOf(topic)); partitions.IsValid() {
		pom = partitions.MapIndex(reflect.ValueOf(partition))
	}
	lock.RUnlock()
	if !pom.IsValid() || pom.Kind() != reflect.Pointer || pom.IsNil() {
		return 0, false, errNotManaged
	}

	p := pom.Elem()
	pomLock, err := field(p, "lock", reflect.TypeFor[sync.Mutex]())
	if err != nil {
		return 0, false, err
	}
	offsetField, err := field(p, "offset", reflect.TypeFor[int64]())
	if err != nil {
		return 0, false, err
	}
	dirtyField, err := field(p, "dirty", reflect.TypeFor[bool]())
	if err != nil {
		return 0, false, err
	}
	mu := (*sync.Mutex)(unsafe.Pointer(pomLock.UnsafeAddr()))
	mu.Lock()
	offset, dirty = offsetField.Int(), dirtyField.Bool()
	mu.Unlock()
	return offset, dirty, nil
}

func pointerField(v reflect.Value, name string) (reflect.Value, error) {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("sarama's %s has no %s", v.Type(), name)
	}
	return f.Elem(), nil
}

func field(v reflect.Value, name string, want reflect.Type) (reflect.Value, error) {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Type() != want || !f.CanAddr() {
		return reflect.Value{}, fmt.Errorf("sarama's %s has no %s of type %s", v.Type(), name, want)
	}
	return f, nil
}
