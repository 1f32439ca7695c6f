package domain_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// modelMessage is a message as the test applied it.
type modelMessage struct {
	events.MessageSent
	recalled bool
}

// TestRecentMessagesKeepTheirGuarantees applies a random history of hand-made
// events (server clocks out of order, repeated client ids and message ids,
// recalls) and checks after each step, against the list of everything
// applied, what the state promises:
//   - a send repeated within the dedup window behind the newest message is
//     answered with the latest message of its (sender, clientMessageId), and
//     a repeat the state answers is always answered with that message;
//   - a message within the recall window and its minute of margin behind the
//     newest is found by its id, and a message found is the latest with the
//     id, recalled or not as applied.
//
// At the end a replay of the events gives an equal state, and so do clones.
func TestRecentMessagesKeepTheirGuarantees(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	p.DedupWindow = 5 * time.Minute
	p.RecallWindow = time.Minute
	p.EditWindow = p.RecallWindow
	dedupWindow := p.DedupWindow.Milliseconds()
	recallKept := (p.RecallWindow + time.Minute).Milliseconds()
	steps := 6000
	if testing.Short() {
		steps = 1500
	}

	rng := rand.New(rand.NewPCG(7, 11))
	senders := []string{"alice", "bob", "carol"}
	s := groupSession(t, p, senders[0], senders[1:]...)
	created := s.Clone()
	var log []events.Payload
	var all []*modelMessage
	latestByKey := make(map[[2]string]*modelMessage)
	latestByID := make(map[string]*modelMessage)
	clock, newest := t0, int64(0)

	for step := 1; step <= steps; step++ {
		if len(all) > 0 && rng.IntN(10) == 0 {
			m := all[len(all)-1-rng.IntN(min(len(all), 200))]
			e := events.MessageRecalled{SessionID: groupID, MessageID: m.MessageID, Seq: m.Seq, By: m.SenderID, RecalledAt: clock}
			// The recall concerns the latest message with the id, and the
			// state keeps it only while it can recall that message.
			target := latestByID[m.MessageID]
			_, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: target.SenderID, SessionID: groupID, MessageID: target.MessageID, Now: target.ServerTimestamp})
			if !errors.Is(err, domain.ErrUnknownMessage) {
				target.recalled = true
			}
			applyAll(s, e)
			log = append(log, e)
		} else {
			clock += rng.Int64N(3000)
			ts := clock + rng.Int64N(4001) - 2000 // another node's clock
			m := &modelMessage{MessageSent: events.MessageSent{
				SessionID: groupID, MessageID: msgID(rng.IntN(5000)), Seq: int64(len(all) + 1),
				SenderID: senders[rng.IntN(len(senders))], MessageType: 1, Content: "x",
				ClientMessageID: fmt.Sprint("c", rng.IntN(3000)), ServerTimestamp: ts, AdjustedTimestamp: ts - rng.Int64N(50),
			}}
			if step%97 == 0 {
				m.MessageID = fmt.Sprint("legacy-", rng.IntN(20))
			}
			if len(all) == 0 || ts > newest {
				newest = ts
			}
			all = append(all, m)
			latestByKey[[2]string{m.SenderID, m.ClientMessageID}] = m
			latestByID[m.MessageID] = m
			applyAll(s, m.MessageSent)
			log = append(log, m.MessageSent)
		}
		if step%50 != 0 {
			continue
		}
		for _, m := range latestByKey {
			checkRepeat(t, s, p, m, m.ServerTimestamp >= newest-dedupWindow)
		}
		for _, m := range latestByID {
			checkRecall(t, s, p, m, m.ServerTimestamp >= newest-recallKept)
		}
	}

	replayed := created.Clone()
	applyAll(replayed, log...)
	if !reflect.DeepEqual(s, replayed) {
		t.Fatal("replayed state differs from the live one")
	}
	if !reflect.DeepEqual(s.Clone(), replayed.Clone()) || !reflect.DeepEqual(s.Clone().Clone(), s.Clone()) {
		t.Fatal("clones of equal states differ")
	}
}

// checkRepeat repeats m's send: a duplicate answer is m's; kept says it must
// be answered.
func checkRepeat(t *testing.T, s *domain.Session, p domain.Policy, m *modelMessage, kept bool) {
	t.Helper()
	cmd := sendCmd(s, m.SenderID, m.ClientMessageID, m.ServerTimestamp)
	res, _, err := domain.DecideSend(s, p, cmd)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.SendResult{MessageID: m.MessageID, Seq: m.Seq, ServerTimestamp: m.ServerTimestamp,
		AdjustedTimestamp: m.AdjustedTimestamp, Duplicate: true}
	if res.Duplicate && res != want || kept && !res.Duplicate {
		t.Fatalf("repeat of seq %d (kept %v) = %+v, want %+v", m.Seq, kept, res, want)
	}
}

// checkRecall recalls m by its sender at its server time: a message found is
// m; kept says it must be found.
func checkRecall(t *testing.T, s *domain.Session, p domain.Policy, m *modelMessage, kept bool) {
	t.Helper()
	evs, err := domain.DecideRecall(s, p, domain.RecallCommand{UserID: m.SenderID, SessionID: groupID, MessageID: m.MessageID, Now: m.ServerTimestamp})
	switch {
	case errors.Is(err, domain.ErrUnknownMessage):
		if kept {
			t.Fatalf("recall of seq %d: unknown, want it found", m.Seq)
		}
	case err != nil:
		t.Fatalf("recall of seq %d: %v", m.Seq, err)
	case m.recalled:
		if evs != nil {
			t.Fatalf("recall of recalled seq %d = %v, want nothing", m.Seq, evs)
		}
	default:
		if len(evs) != 1 || evs[0].(events.MessageRecalled).Seq != m.Seq {
			t.Fatalf("recall of seq %d = %v", m.Seq, evs)
		}
	}
}
