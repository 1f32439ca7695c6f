package command_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
)

func TestAcksMoveWatermarksForwardOnly(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	var sid string
	for i := range 5 {
		sid = e.sendTo(t, "ann", "bob", "m", string(rune('a'+i))).SessionID
	}
	ack := func(user string, seq int64, kind string) (command.AckResult, error) {
		return e.cmds.Ack.Handle(ctx, command.Ack{Meta: as(user), SessionID: sid, Seq: seq, AckType: kind})
	}
	version := func() int64 {
		recs, err := e.store.ReadStream(ctx, sid, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return int64(len(recs))
	}

	res, err := ack("bob", 3, domain.AckReceived)
	if err != nil || !res.Moved || res.ReceivedSeq != 3 || res.ReadSeq != 0 {
		t.Fatalf("received 3 = %+v, %v", res, err)
	}
	before := version()
	res, err = ack("bob", 2, domain.AckReceived)
	if err != nil || res.Moved || res.ReceivedSeq != 3 {
		t.Fatalf("received 2 after 3 = %+v, %v; want unchanged", res, err)
	}
	if version() != before {
		t.Fatal("an ack below the watermark appended an event")
	}
	res, err = ack("bob", 4, domain.AckRead)
	if err != nil || !res.Moved || res.ReceivedSeq != 4 || res.ReadSeq != 4 {
		t.Fatalf("read 4 = %+v, %v; reading implies receiving", res, err)
	}
	if _, err := ack("bob", 6, domain.AckRead); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("ack beyond the last seq = %v, want invalid", err)
	}
	if _, err := ack("eve", 1, domain.AckRead); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("non-member ack = %v, want forbidden", err)
	}
	if _, err := e.cmds.Ack.Handle(ctx, command.Ack{Meta: as("bob"), SessionID: "d:bob:zoe", Seq: 1, AckType: domain.AckRead}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("ack on a session that does not exist = %v, want not_found", err)
	}

	e.caughtUp(t)
	s, err := e.rm.Session(ctx, sid, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if s.ReceivedSeq != 4 || s.ReadSeq != 4 || s.UnreadCount != 1 {
		t.Fatalf("bob's view = received %d read %d unread %d, want 4 4 1", s.ReceivedSeq, s.ReadSeq, s.UnreadCount)
	}
}
