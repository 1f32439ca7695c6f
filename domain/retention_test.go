package domain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// TestRetentionBoundsMemory sends 10,000 messages an hour apart, far more
// history than the 24-hour retention, and checks that the state keeps only
// the last day for dedup and the last three minutes (the recall window and
// its margin) for recall, while both keep working within their windows.
func TestRetentionBoundsMemory(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	const n = 10_000
	const step = int64(time.Hour / time.Millisecond)
	results := make([]domain.SendResult, n+1)
	for i := 1; i <= n; i++ {
		results[i] = mustSend(t, s, p, sendCmd(s, "alice", msgID(i), t0+int64(i)*step))
		queued, dedup, recallable := domain.RetainedMessages(s)
		if queued > 25 || dedup > 25 || recallable > 1 {
			t.Fatalf("after %d messages the state holds %d/%d/%d, want at most 25/25/1 (one day of hourly messages, one of them recallable)", i, queued, dedup, recallable)
		}
	}
	queued, dedup, recallable := domain.RetainedMessages(s)
	if queued != 25 || dedup != 25 || recallable != 1 {
		t.Fatalf("state holds %d/%d/%d, want 25/25/1", queued, dedup, recallable)
	}
	now := t0 + n*step + 1000

	// A duplicate of a message 23 hours old is answered with the original.
	recent := n - 23
	res, evs, err := domain.DecideSend(s, p, sendCmd(s, "alice", msgID(recent), now))
	if err != nil || !res.Duplicate || res.Seq != int64(recent) || res.MessageID != results[recent].MessageID || evs != nil {
		t.Fatalf("recent duplicate = %+v, %v, %v; want the original seq %d", res, evs, err, recent)
	}
	// One far older than the dedup window is no longer known: it is a new message.
	res, evs, err = domain.DecideSend(s, p, sendCmd(s, "alice", msgID(1), now))
	if err != nil || res.Duplicate || res.Seq != n+1 || len(evs) != 1 {
		t.Fatalf("old duplicate = %+v, %v; want a new message at seq %d", res, err, n+1)
	}

	// The last message can still be recalled; an old one is unknown.
	evs, err = domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: results[n].MessageID, Now: t0 + n*step + 60_000})
	if err != nil || len(evs) != 1 {
		t.Fatalf("recall of the last message = %v, %v", evs, err)
	}
	_, err = domain.DecideRecall(s, p, domain.RecallCommand{UserID: "alice", SessionID: groupID, MessageID: results[1].MessageID, Now: now})
	if !errors.Is(err, domain.ErrUnknownMessage) {
		t.Fatalf("recall of the first message = %v, want ErrUnknownMessage", err)
	}
}

// TestRetentionKeepsRecallWindow uses dedup and edit windows shorter than the
// recall window: the state keeps messages for the longest of the three, the
// recall window with its one-minute margin.
func TestRetentionKeepsRecallWindow(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.DedupWindow = time.Second
	p.EditWindow = time.Second
	s := groupSession(t, p, "alice", "bob")
	const n = 1000
	const step = 10_000 // ms
	results := make([]domain.SendResult, n+1)
	for i := 1; i <= n; i++ {
		results[i] = mustSend(t, s, p, sendCmd(s, "bob", msgID(i), t0+int64(i)*step))
	}
	if queued, dedup, recallable := domain.RetainedMessages(s); queued != 19 || dedup != 19 || recallable != 19 {
		t.Fatalf("state holds %d/%d/%d messages, want 19 (three minutes of messages 10 s apart)", queued, dedup, recallable)
	}
	last := t0 + n*step
	// Sent 110 s before the last one and recalled 119 s after it was sent.
	sent := n - 11
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: "bob", SessionID: groupID, MessageID: results[sent].MessageID, Now: last + 9_000})
	if err != nil || len(evs) != 1 {
		t.Fatalf("recall within the window = %v, %v", evs, err)
	}
	_, err = domain.DecideRecall(s, p, domain.RecallCommand{UserID: "bob", SessionID: groupID, MessageID: results[sent].MessageID, Now: last + 11_000})
	wantKind(t, err, domain.KindForbidden)
}

// TestRetentionKeepsDenseHistory sends many messages within the retention:
// none is forgotten.
func TestRetentionKeepsDenseHistory(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	const n = 10_000
	first := mustSend(t, s, p, sendCmd(s, "alice", "first", t0))
	for i := 2; i <= n; i++ {
		mustSend(t, s, p, sendCmd(s, "bob", msgID(i), t0+int64(i)))
	}
	if queued, dedup, recallable := domain.RetainedMessages(s); queued != n || dedup != n || recallable != n {
		t.Fatalf("state holds %d/%d/%d, want %d", queued, dedup, recallable, n)
	}
	res, _, err := domain.DecideSend(s, p, sendCmd(s, "alice", "first", t0+n+1))
	if err != nil || !res.Duplicate || res != (domain.SendResult{MessageID: first.MessageID, Seq: 1, ServerTimestamp: t0, AdjustedTimestamp: t0, Duplicate: true}) {
		t.Fatalf("duplicate of the first message = %+v, %v", res, err)
	}
}

// TestRetentionNeverDropsEarly has server clocks disagree: a message stamped
// earlier than one before it is kept at least as long as its retention.
func TestRetentionNeverDropsEarly(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice", "bob")
	hour := time.Hour.Milliseconds()
	a := mustSend(t, s, p, sendCmd(s, "alice", "a", t0+hour)) // from a node ahead
	b := mustSend(t, s, p, sendCmd(s, "alice", "b", t0))      // from a node behind
	mustSend(t, s, p, sendCmd(s, "alice", "c", t0+24*hour+30*60_000))

	for _, tt := range []struct {
		cmid string
		orig domain.SendResult
	}{{"a", a}, {"b", b}} {
		res, _, err := domain.DecideSend(s, p, sendCmd(s, "alice", tt.cmid, t0+25*hour))
		if err != nil || !res.Duplicate || res.MessageID != tt.orig.MessageID {
			t.Fatalf("duplicate %s = %+v, %v; want the original", tt.cmid, res, err)
		}
	}

	mustSend(t, s, p, sendCmd(s, "alice", "d", t0+25*hour+60_000))
	for _, cmid := range []string{"a", "b"} {
		res, _, err := domain.DecideSend(s, p, sendCmd(s, "alice", cmid, t0+25*hour+60_000))
		if err != nil || res.Duplicate {
			t.Fatalf("send %s after its retention = %+v, %v; want a new message", cmid, res, err)
		}
	}
}

// TestReplayGivesTheSameState decides a mixed history step by step, then
// replays its events into a fresh state: both states are equal, and decide
// the next command alike.
func TestReplayGivesTheSameState(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.DedupWindow = time.Minute
	live := domain.NewSession(groupID, p)
	var log []events.Payload
	step := func(evs []events.Payload, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		applyAll(live, evs...)
		log = append(log, evs...)
	}
	sendStep := func(cmd domain.SendCommand) domain.SendResult {
		t.Helper()
		res, evs, err := domain.DecideSend(live, p, cmd)
		step(evs, err)
		return res
	}

	step(domain.DecideCreateGroup(live, p, domain.CreateGroupCommand{SessionID: groupID, Creator: "alice", Title: "t", Members: []string{"bob"}, Now: t0}))
	for i := 1; i <= 500; i++ {
		now := t0 + int64(i)*1000
		sender := []string{"alice", "bob"}[i%2]
		res := sendStep(sendCmd(live, sender, msgID(i), now))
		sendStep(sendCmd(live, sender, msgID(i), now)) // a retry: no events
		switch {
		case i == 250:
			step(domain.DecideChangeMembers(live, p, domain.ChangeMembersCommand{SessionID: groupID, UserID: "alice", Add: []string{"carol"}}))
		case i%7 == 0:
			step(domain.DecideRecall(live, p, domain.RecallCommand{UserID: sender, SessionID: groupID, MessageID: res.MessageID, Now: now + 10}))
		case i%5 == 0:
			step(domain.DecideAck(live, domain.AckCommand{UserID: "bob", SessionID: groupID, Seq: res.Seq, AckType: domain.AckRead}))
		}
	}

	replayed := domain.NewSession(groupID, p)
	for i, e := range log {
		replayed.Apply(int64(i+1), e)
	}
	if !reflect.DeepEqual(live, replayed) {
		t.Fatalf("replayed state differs from the live one:\nlive     %+v\nreplayed %+v", live, replayed)
	}
	if !reflect.DeepEqual(live.Clone(), replayed.Clone()) {
		t.Fatal("clones of equal states differ")
	}
	next := sendCmd(live, "carol", "next", t0+501_000)
	r1, e1, err1 := domain.DecideSend(live, p, next)
	r2, e2, err2 := domain.DecideSend(replayed, p, next)
	if err1 != nil || err2 != nil || r1 != r2 || len(e1) != 1 || !reflect.DeepEqual(e1, e2) {
		t.Fatalf("decisions differ: %+v %v %v vs %+v %v %v", r1, e1, err1, r2, e2, err2)
	}
}
