package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// sessionHandler hands the session to the test and holds its claims until the session ends.
type sessionHandler struct {
	sessions chan sarama.ConsumerGroupSession
}

func (h sessionHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.sessions <- s
	return nil
}

func (sessionHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (sessionHandler) ConsumeClaim(s sarama.ConsumerGroupSession, _ sarama.ConsumerGroupClaim) error {
	<-s.Context().Done()
	return nil
}

// pomState reads what sarama's offset manager knows of a real session (against sarama's
// MockBroker): a commit the broker accepts clears `dirty`, one it refuses leaves it set. This
// pins the layout of sarama's unexported fields that offsets.go reads.
func TestPomStateFollowsSaramasCommits(t *testing.T) {
	const topic, group = "my-topic", "my-group"
	broker := sarama.NewMockBroker(t, 0)
	defer broker.Close()
	broker.SetHandlerByMap(map[string]sarama.MockResponse{
		"MetadataRequest": sarama.NewMockMetadataResponse(t).
			SetBroker(broker.Addr(), broker.BrokerID()).
			SetLeader(topic, 0, broker.BrokerID()),
		"OffsetRequest": sarama.NewMockOffsetResponse(t).
			SetOffset(topic, 0, sarama.OffsetOldest, 0).
			SetOffset(topic, 0, sarama.OffsetNewest, 0),
		"FindCoordinatorRequest": sarama.NewMockFindCoordinatorResponse(t).
			SetCoordinator(sarama.CoordinatorGroup, group, broker),
		"HeartbeatRequest": sarama.NewMockHeartbeatResponse(t),
		"JoinGroupRequest": sarama.NewMockJoinGroupResponse(t).SetGroupProtocol(sarama.RangeBalanceStrategyName),
		"SyncGroupRequest": sarama.NewMockSyncGroupResponse(t).SetMemberAssignment(
			&sarama.ConsumerGroupMemberAssignment{Topics: map[string][]int32{topic: {0}}}),
		"OffsetFetchRequest": sarama.NewMockOffsetFetchResponse(t).
			SetOffset(group, topic, 0, 0, "", sarama.ErrNoError).SetError(sarama.ErrNoError),
		"OffsetCommitRequest": sarama.NewMockSequence(
			sarama.NewMockOffsetCommitResponse(t),
			sarama.NewMockOffsetCommitResponse(t).SetError(group, topic, 0, sarama.ErrOffsetMetadataTooLarge),
		),
		"FetchRequest":      sarama.NewMockFetchResponse(t, 1),
		"LeaveGroupRequest": sarama.NewMockLeaveGroupResponse(t),
	})

	config := sarama.NewConfig()
	config.Version = sarama.V2_0_0_0
	config.ApiVersionsRequest = false // the mock broker does not answer it
	config.Consumer.Return.Errors = true
	config.Consumer.Offsets.AutoCommit.Enable = false
	config.Consumer.Group.Rebalance.Retry.Backoff = 0
	cg, err := sarama.NewConsumerGroup([]string{broker.Addr()}, group, config)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for err := range cg.Errors() {
			t.Logf("group error: %v", err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan error, 1)
	handler := sessionHandler{sessions: make(chan sarama.ConsumerGroupSession, 1)}
	go func() { consumed <- cg.Consume(ctx, []string{topic}, handler) }()
	defer func() {
		cancel()
		<-consumed
		_ = cg.Close()
	}()

	var sess sarama.ConsumerGroupSession
	select {
	case sess = <-handler.sessions:
	case err := <-consumed:
		t.Fatalf("no session: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no session within 10 s")
	}

	expectState := func(step string, wantOffset int64, wantDirty bool) {
		t.Helper()
		offset, dirty, err := pomState(sess, topic, 0)
		if err != nil || offset != wantOffset || dirty != wantDirty {
			t.Fatalf("%s: pomState = %d, dirty %v, %v; want %d, dirty %v", step, offset, dirty, err, wantOffset, wantDirty)
		}
	}
	sess.MarkOffset(topic, 0, 5, "")
	expectState("marked", 5, true)
	sess.Commit()
	expectState("committed", 5, false)
	sess.MarkOffset(topic, 0, 7, "")
	sess.Commit() // the broker refuses this one
	expectState("refused", 7, true)

	if _, _, err := pomState(sess, topic, 1); !errors.Is(err, errNotManaged) {
		t.Fatalf("a partition not claimed: %v, want errNotManaged", err)
	}
}
