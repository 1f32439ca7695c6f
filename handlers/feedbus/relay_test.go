package feedbus_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/feedbus"
)

// checkStream compares the stream's messages with the log's events, one for
// one and in order: subject, payload, UUID and metadata.
func checkStream(t *testing.T, feed *feedbus.NATSFeed, msgs []*jetstream.RawStreamMsg, recs []events.RecordedEvent) {
	t.Helper()
	if len(msgs) != len(recs) {
		t.Fatalf("the stream holds %d messages, the log %d events", len(msgs), len(recs))
	}
	for i, r := range recs {
		m := msgs[i]
		want, err := eventview.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != string(want) {
			t.Errorf("message %d:\n got %s\nwant %s", i, m.Data, want)
		}
		if m.Subject != feed.Topic() {
			t.Errorf("message %d on subject %q, want %q", i, m.Subject, feed.Topic())
		}
		for key, want := range map[string]string{
			nats.MsgIdHdr:             r.EventID.String(),
			"_watermill_message_uuid": r.EventID.String(),
			feedbus.MetadataPosition:  strconv.FormatInt(int64(r.Position), 10),
			feedbus.MetadataStreamID:  r.StreamID,
			feedbus.MetadataVersion:   strconv.FormatInt(r.Version, 10),
			feedbus.MetadataEventType: r.Type,
		} {
			if got := m.Header.Get(key); got != want {
				t.Errorf("message %d: header %s = %q, want %q", i, key, got, want)
			}
		}
	}
}

func TestRelayPublishesTheLogInGlobalOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Three sessions, appended in turns, so global order interleaves them.
	for round := range 4 {
		for _, s := range []string{"d:ann:bob", "d:ann:cid", "g:team"} {
			appendMessages(t, e.store, s, round*2, 2)
		}
	}
	const total = 4 * 3 * 2
	recs := readLog(t, e.store, total)

	r, _ := runRelay(t, e, e.feed.Publisher(), "")
	checkStream(t, e.feed, waitForStream(t, e.feed, total), recs)

	// Live events follow the history.
	appendMessages(t, e.store, "d:ann:bob", 8, 3)
	recs = readLog(t, e.store, total+3)
	checkStream(t, e.feed, waitForStream(t, e.feed, total+3), recs)

	last := recs[len(recs)-1].Position
	waitFor(t, patience, "the checkpoint at the last event", func() bool {
		pos, err := feedbus.ReadCheckpoint(context.Background(), e.pool, e.feed.Topic())
		if err != nil {
			t.Fatal(err)
		}
		return pos == last
	})
	if st := r.Status(); !st.Leader || st.Position != last {
		t.Fatalf("status %+v, want leader at %d", st, last)
	}
}

func TestRestartedRelayContinuesFromItsCheckpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	appendMessages(t, e.store, "d:ann:bob", 0, 10)
	first := &recorder{next: e.feed.Publisher()}
	_, stop := runRelay(t, e, first, "restart")
	waitForStream(t, e.feed, 10)
	stop()
	checkpoint, err := feedbus.ReadCheckpoint(context.Background(), e.pool, "restart")
	if err != nil {
		t.Fatal(err)
	}

	appendMessages(t, e.store, "d:ann:bob", 10, 5)
	appendMessages(t, e.store, "d:ann:cid", 0, 5)
	recs := readLog(t, e.store, 20)
	second := &recorder{next: e.feed.Publisher()}
	runRelay(t, e, second, "restart")
	checkStream(t, e.feed, waitForStream(t, e.feed, 20), recs)

	var fromCheckpoint []events.Position
	for _, r := range recs {
		if r.Position > checkpoint {
			fromCheckpoint = append(fromCheckpoint, r.Position)
		}
	}
	waitFor(t, patience, "the second relay's publishes", func() bool { return len(second.published()) >= len(fromCheckpoint) })
	if got := second.published(); !slices.Equal(got, fromCheckpoint) {
		t.Fatalf("the restarted relay published positions %v, want exactly those after its checkpoint %d: %v",
			got, checkpoint, fromCheckpoint)
	}
	if got := first.published(); len(got) != 10 {
		t.Fatalf("the first relay published %d events, want 10", len(got))
	}
}

func TestStandbyRelayPublishesNothingWhileTheLeaderHoldsTheLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	leaderOut := &recorder{next: e.feed.Publisher()}
	leader, stopLeader := runRelay(t, e, leaderOut, "lease")
	waitFor(t, patience, "the first relay to lead", func() bool { return leader.Status().Leader })
	standbyOut := &recorder{next: e.feed.Publisher()}
	standby, _ := runRelay(t, e, standbyOut, "lease")

	appendMessages(t, e.store, "d:ann:bob", 0, 12)
	recs := readLog(t, e.store, 12)
	waitForStream(t, e.feed, 12)
	// A standby reads the stored checkpoint at each try for the lease: once
	// it shows the leader's last event, it has tried and failed since then.
	last := recs[len(recs)-1].Position
	waitFor(t, patience, "the standby to see the leader's checkpoint", func() bool { return standby.Status().Position == last })
	if st := standby.Status(); st.Leader {
		t.Fatalf("the standby leads while the leader holds the lease: %+v", st)
	}
	if got := standbyOut.published(); len(got) != 0 {
		t.Fatalf("the standby published %v while the leader held the lease", got)
	}
	if got := leaderOut.published(); len(got) != 12 {
		t.Fatalf("the leader published %d events, want 12", len(got))
	}

	// The standby takes over when the leader stops, and goes on from its
	// checkpoint.
	stopLeader()
	waitFor(t, patience, "the standby to take the lease", func() bool { return standby.Status().Leader })
	appendMessages(t, e.store, "d:ann:bob", 12, 4)
	recs = readLog(t, e.store, 16)
	checkStream(t, e.feed, waitForStream(t, e.feed, 16), recs)
	waitFor(t, patience, "the standby's publishes", func() bool { return len(standbyOut.published()) >= 4 })
	want := []events.Position{recs[12].Position, recs[13].Position, recs[14].Position, recs[15].Position}
	if got := standbyOut.published(); !slices.Equal(got, want) {
		t.Fatalf("the new leader published %v, want %v", got, want)
	}
}

func TestStreamDropsEventsPublishedAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	appendMessages(t, e.store, "d:ann:bob", 0, 9)
	recs := readLog(t, e.store, 9)
	_, stop := runRelay(t, e, e.feed.Publisher(), "dup")
	waitForStream(t, e.feed, 9)
	stop()

	// A relay that died after publishing and before storing its checkpoint
	// publishes the same events again.
	if err := feedbus.SetCheckpoint(context.Background(), e.pool, "dup", 0); err != nil {
		t.Fatal(err)
	}
	again := &recorder{next: e.feed.Publisher()}
	_, stop = runRelay(t, e, again, "dup")
	waitFor(t, patience, "the events to be published again", func() bool { return len(again.published()) == 9 })
	stop()
	checkStream(t, e.feed, streamMessages(t, e.feed), recs)

	// JetStream says so itself when the copy comes straight through NATS.
	m, err := feedbus.NewMessage(recs[4])
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(e.feed.Topic())
	msg.Data = m.Payload
	for k, v := range m.Metadata {
		msg.Header.Set(k, v)
	}
	ack, err := js.PublishMsg(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate {
		t.Fatalf("a copy of %s was stored again at stream seq %d", recs[4].EventID, ack.Sequence)
	}
	checkStream(t, e.feed, streamMessages(t, e.feed), recs)
}
