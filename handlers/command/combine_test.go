package command_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
)

// slowCountingStore is the real store with each append held a little
// longer, so that commands pile up behind a session's lock as they do on a
// busy server, and a count of the appends made.
type slowCountingStore struct {
	command.EventStore
	appends atomic.Int64
}

func (s *slowCountingStore) Append(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	s.appends.Add(1)
	time.Sleep(5 * time.Millisecond)
	return s.EventStore.Append(ctx, streamID, expected, evs)
}

func TestCommandsQueuedOnOneSessionAreAppendedTogether(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	const senders, each = 10, 10
	members := make([]string, senders)
	for i := range members {
		members[i] = fmt.Sprintf("user%02d", i)
	}
	gid := e.group(t, members[0], members...)
	store := &slowCountingStore{EventStore: e.store}
	cmds, err := command.NewCommands(command.Config{Store: store, History: e.rm, Policy: e.policy, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	type sentAck struct {
		seq         int64
		correlation string
		content     string
	}
	var (
		mu        sync.Mutex
		acks      []sentAck
		forbidden atomic.Int64
		wg        sync.WaitGroup
	)
	commands := 0
	for _, user := range members {
		commands += 2 * each
		wg.Go(func() {
			for n := range each {
				content := fmt.Sprintf("%s #%d", user, n)
				correlation := fmt.Sprintf("corr-%s-%d", user, n)
				meta := command.RequestMeta{Actor: user, CorrelationID: correlation}
				ack, err := cmds.Send.Handle(t.Context(), command.Send{Meta: meta, SessionID: gid, MessageType: 1,
					Content: content, ClientMessageID: fmt.Sprintf("c%d", n), ClientTimestamp: e.clock.Now().UnixMilli()})
				if err != nil {
					t.Errorf("%s send %d: %v", user, n, err)
					return
				}
				mu.Lock()
				acks = append(acks, sentAck{ack.Seq, correlation, content})
				mu.Unlock()
				if _, err := cmds.Ack.Handle(t.Context(), command.Ack{Meta: as(user), SessionID: gid, Seq: ack.Seq, AckType: domain.AckRead}); err != nil {
					t.Errorf("%s ack %d: %v", user, ack.Seq, err)
					return
				}
			}
		})
	}
	// A non-member's commands are refused, in whatever batch they fall.
	wg.Go(func() {
		for n := range each {
			_, err := cmds.Send.Handle(t.Context(), command.Send{Meta: as("mallory"), SessionID: gid, MessageType: 1,
				Content: "let me in", ClientMessageID: fmt.Sprintf("m%d", n)})
			var derr *domain.Error
			if !errorsAs(err, &derr) || derr.Kind != domain.KindForbidden {
				t.Errorf("mallory's send %d: %v, want forbidden", n, err)
				return
			}
			forbidden.Add(1)
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	commands += each
	if forbidden.Load() != each {
		t.Fatalf("%d of mallory's sends refused, want %d", forbidden.Load(), each)
	}
	if n := store.appends.Load(); n >= int64(commands-each) {
		t.Fatalf("%d appends for %d commands that change the session: nothing was combined", n, commands-each)
	} else {
		t.Logf("%d appends for %d commands", n, commands)
	}

	// The log holds every message once, at the seq its sender was told,
	// with its own command's correlation id.
	recs, err := e.store.ReadStream(t.Context(), gid, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[int64]events.MessageSent{}
	corrBySeq := map[int64]string{}
	for _, rec := range recs {
		env, err := events.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := env.Payload.(events.MessageSent); ok {
			if _, dup := bySeq[m.Seq]; dup {
				t.Fatalf("seq %d stored twice", m.Seq)
			}
			bySeq[m.Seq], corrBySeq[m.Seq] = m, env.Meta.CorrelationID
		}
	}
	if len(bySeq) != senders*each || len(acks) != senders*each {
		t.Fatalf("%d messages stored, %d acked, want %d", len(bySeq), len(acks), senders*each)
	}
	for _, a := range acks {
		m, ok := bySeq[a.seq]
		if !ok || m.Content != a.content || corrBySeq[a.seq] != a.correlation {
			t.Fatalf("seq %d: stored %q with correlation %q, acked %q with %q", a.seq, m.Content, corrBySeq[a.seq], a.content, a.correlation)
		}
	}
	for seq := int64(1); seq <= senders*each; seq++ {
		if _, ok := bySeq[seq]; !ok {
			t.Fatalf("seq %d missing: seqs are not 1..%d", seq, senders*each)
		}
	}
}
