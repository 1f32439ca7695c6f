package crashtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// chaosMode sizes one run.
type chaosMode struct {
	name            string
	users           int
	messagesPerUser int
	// window is how many sends a client keeps in flight on its connection.
	window int
	// stops is how many times the server is killed (or terminated).
	stops int
	// timeout bounds the whole test, only so that it fails instead of hanging.
	timeout time.Duration
}

// longMode reports whether the long runs were asked for with
// TELLYOU_CRASH_LONG=1; -short always wins.
func longMode() bool {
	return os.Getenv("TELLYOU_CRASH_LONG") == "1" && !testing.Short()
}

// newRand returns the test's random source, seeded from TELLYOU_CRASH_SEED
// when set (to replay a run's plan) and from the clock otherwise; the seed is
// logged.
func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TELLYOU_CRASH_SEED"); s != "" {
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("TELLYOU_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("random seed %d (set TELLYOU_CRASH_SEED to reuse it)", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// plannedMessage is one message a client will send until it is acked.
type plannedMessage struct {
	sender          string
	clientMessageID string
	// Exactly one of toUserID and groupID is set; sessionID is the session
	// the ack must name.
	toUserID, groupID, sessionID string
	content                      string
	ext                          json.RawMessage
	clientTimestamp              int64
}

// group is a group session created before the chaos starts.
type group struct {
	id      string
	owner   string
	members []string // the owner included
}

func userName(i int) string { return fmt.Sprintf("u%02d", i) }

func directSessionID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// createGroups creates three overlapping groups over HTTP: everyone, the first
// half, and the second half with the first user.
func createGroups(ctx context.Context, b *testbed, users int) ([]group, error) {
	var all, low, high []string
	for i := range users {
		u := userName(i)
		all = append(all, u)
		if i < users/2 {
			low = append(low, u)
		} else {
			high = append(high, u)
		}
	}
	high = append(high, userName(0))
	specs := []struct {
		title   string
		owner   string
		members []string
	}{{"everyone", all[0], all}, {"first half", low[len(low)-1], low}, {"second half", high[0], high}}
	var groups []group
	for _, s := range specs {
		var created struct {
			SessionID string   `json:"sessionId"`
			Kind      string   `json:"kind"`
			Owner     string   `json:"owner"`
			Members   []string `json:"members"`
		}
		if err := b.do(ctx, "POST", "/v1/sessions", map[string]any{"title": s.title, "members": s.members}, &created, s.owner); err != nil {
			return nil, fmt.Errorf("create group %q: %w", s.title, err)
		}
		if !strings.HasPrefix(created.SessionID, "g:") || created.Kind != "group" || created.Owner != s.owner || len(created.Members) != len(s.members) {
			return nil, fmt.Errorf("create group %q: answered %+v", s.title, created)
		}
		groups = append(groups, group{id: created.SessionID, owner: s.owner, members: created.Members})
	}
	return groups, nil
}

// planMessages plans each user's messages: half direct (toUserId) to a random
// other user, half to a random group the user is in; some carry ext.
func planMessages(rng *rand.Rand, users, perUser int, groups []group) map[string][]*plannedMessage {
	words := []string{"hello", "crash", "again", "seq", "log", "ack", "durable", "resend", "kill", "replay", "ünïcødé", "日本語", `"quoted"`, `back\slash`}
	now := time.Now().UnixMilli()
	plans := make(map[string][]*plannedMessage, users)
	for i := range users {
		sender := userName(i)
		var mine []group
		for _, g := range groups {
			for _, m := range g.members {
				if m == sender {
					mine = append(mine, g)
				}
			}
		}
		for j := range perUser {
			m := &plannedMessage{sender: sender, clientMessageID: fmt.Sprintf("%s-msg-%06d", sender, j), clientTimestamp: now + int64(j)}
			if rng.IntN(2) == 0 || len(mine) == 0 {
				other := rng.IntN(users - 1)
				if other >= i {
					other++
				}
				m.toUserID = userName(other)
				m.sessionID = directSessionID(sender, m.toUserID)
			} else {
				g := mine[rng.IntN(len(mine))]
				m.groupID, m.sessionID = g.id, g.id
			}
			var text strings.Builder
			fmt.Fprintf(&text, "%s #%d:", sender, j)
			for range 1 + rng.IntN(6) {
				text.WriteString(" " + words[rng.IntN(len(words))])
			}
			m.content = text.String()
			if rng.IntN(5) == 0 {
				m.ext = json.RawMessage(fmt.Sprintf(`{"n":%d,"tag":"crash"}`, j))
			}
			plans[sender] = append(plans[sender], m)
		}
	}
	return plans
}
