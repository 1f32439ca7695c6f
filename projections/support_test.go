package projections_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
)

var ctx = context.Background()

// countingProjection records how many times each event was applied, which no
// idempotent statement would hide, so a test can tell exactly-once from
// at-least-once. A MessageSent whose content is "poison" violates a CHECK
// constraint: a failure inside PostgreSQL.
type countingProjection struct{}

func (countingProjection) Name() string                  { return "counting" }
func (countingProjection) Tables() []string              { return []string{"test_applied"} }
func (countingProjection) Handles(eventType string) bool { return true }

func (countingProjection) Apply(b *pgx.Batch, tables projections.TableNames, ev events.RecordedEvent, env events.Envelope) error {
	content := ""
	if m, ok := env.Payload.(events.MessageSent); ok {
		content = m.Content
	}
	b.Queue(`INSERT INTO `+tables.Of("test_applied")+` AS t (position, n, content) VALUES ($1, 1, $2)
		ON CONFLICT (position) DO UPDATE SET n = t.n + 1`, int64(ev.Position), content)
	return nil
}

func createCountingTable(t testing.TB, env *projectiontest.Env) {
	t.Helper()
	if _, err := env.Pool.Exec(ctx, `CREATE TABLE test_applied (position bigint PRIMARY KEY,
		n int NOT NULL, content text NOT NULL CHECK (content <> 'poison'))`); err != nil {
		t.Fatal(err)
	}
}

// buildLog appends a realistic log of about n events over several direct and
// group sessions: messages, acks, recalls, mutes, members joining and leaving.
func buildLog(t testing.TB, env *projectiontest.Env, n int, seed uint64) []*projectiontest.SessionLog {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	var logs []*projectiontest.SessionLog
	members := map[string][]string{}
	var sent []events.MessageSent
	for i := range 4 {
		g := env.CreateGroup(fmt.Sprintf("group %d", i), users[i], users[i+1], users[(i+2)%len(users)])
		logs = append(logs, g)
		members[g.ID] = []string{users[i], users[i+1], users[(i+2)%len(users)]}
		d, m := env.CreateDirect(users[i], users[(i+3)%len(users)], "hi")
		logs = append(logs, d)
		members[d.ID] = []string{users[i], users[(i+3)%len(users)]}
		sent = append(sent, m)
	}
	for count := 12; count < n; count++ {
		s := logs[rng.IntN(len(logs))]
		ms := members[s.ID]
		u := ms[rng.IntN(len(ms))]
		if count%50 == 13 { // mutes and unmutes, without drawing from rng
			s.Mute(u, count%100 == 13)
		}
		switch r := rng.IntN(100); {
		case r < 60:
			sent = append(sent, s.Send(u, fmt.Sprintf("message %d", count)))
		case r < 70 && s.Seq > 0:
			s.Received(u, 1+rng.Int64N(s.Seq))
		case r < 80 && s.Seq > 0:
			s.Read(u, 1+rng.Int64N(s.Seq))
			count++
		case r < 85 && len(sent) > 0:
			m := sent[rng.IntN(len(sent))]
			sl := logFor(logs, m.SessionID)
			sl.Recall(m)
		case r < 92 && s.ID[0] == 'g':
			nu := users[rng.IntN(len(users))]
			s.Add(ms[0], nu)
			if !contains(ms, nu) {
				members[s.ID] = append(ms, nu)
			}
		case r < 96 && s.ID[0] == 'g' && len(ms) > 2:
			gone := ms[len(ms)-1]
			s.Remove(ms[0], gone)
			members[s.ID] = ms[:len(ms)-1]
		default:
			sent = append(sent, s.SendExt(u, "with ext", `{"k": [1, "two"]}`))
		}
	}
	return logs
}

func logFor(logs []*projectiontest.SessionLog, id string) *projectiontest.SessionLog {
	for _, l := range logs {
		if l.ID == id {
			return l
		}
	}
	return nil
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

// brokenEvent is an event of a known type that cannot be decoded.
func brokenEvent(eventType, data string, schemaVersion int) events.EventData {
	id := uuid.New()
	meta := fmt.Sprintf(`{"eventId":%q,"correlationId":"c","causationId":"c","actor":"mallory","occurredAt":1,"schemaVersion":%d}`,
		id, schemaVersion)
	return events.EventData{EventID: id, Type: eventType, Data: []byte(data), Metadata: []byte(meta)}
}

// waitFor polls cond until it holds or 30s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statusOf(r *projections.Runner, name string) projections.ProjectionStatus {
	for _, s := range r.Status() {
		if s.Name == name {
			return s
		}
	}
	return projections.ProjectionStatus{}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
