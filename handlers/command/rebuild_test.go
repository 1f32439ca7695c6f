package command_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/projections"
)

// TestRebuiltReadModelsEqualTheLiveOnes writes a log with a few thousand random
// commands, lets the live projections build the read models, rebuilds them all
// from the log while the runner keeps running, and compares every table.
func TestRebuiltReadModelsEqualTheLiveOnes(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	ctx := context.Background()
	commands := 3000
	if testing.Short() {
		commands = 600
	}
	stats := runRandomCommands(t, e, rand.New(rand.NewPCG(42, 7)), commands)
	t.Logf("random commands: %v", stats)
	if stats["send"] < commands/3 || stats["refused"] == 0 || stats["recall"] == 0 || stats["members"] == 0 || stats["duplicate"] == 0 {
		t.Fatalf("the random mix did not exercise every command: %v", stats)
	}

	e.caughtUp(t)
	live := dumpReadModels(t, e)
	rebuilt, err := projections.RebuildAllOpened(ctx, e.store, e.pool, nil, nil, e.Sealer)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	total := 0
	for _, s := range rebuilt {
		total += s.Events
	}
	if total == 0 {
		t.Fatal("rebuild replayed no events")
	}
	e.caughtUp(t)
	after := dumpReadModels(t, e)
	for table, rows := range live {
		if len(rows) == 0 {
			t.Errorf("live %s is empty: the test proves nothing", table)
		}
		if got := after[table]; strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Errorf("%s after rebuild differs from the live table: %d rows vs %d\nfirst live: %v\nfirst rebuilt: %v",
				table, len(got), len(rows), head(rows), head(got))
		}
	}
}

func head(rows []string) []string { return rows[:min(3, len(rows))] }

func dumpReadModels(t *testing.T, e *engine) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, order := range map[string]string{
		"rm_messages": "session_id, seq",
		"rm_sessions": "session_id",
		"rm_members":  "session_id, user_id",
	} {
		rows, err := e.pool.Query(context.Background(), fmt.Sprintf("SELECT * FROM %s ORDER BY %s", table, order))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// runRandomCommands drives the handlers with a reproducible random mix of every
// command, including refused ones, and returns how many of each ran.
func runRandomCommands(t *testing.T, e *engine, rng *rand.Rand, n int) map[string]int {
	t.Helper()
	ctx := context.Background()
	users := []string{"ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"}
	pick := func() string { return users[rng.IntN(len(users))] }
	var groups []string
	for i := range 3 {
		owner := users[i]
		gid := e.group(t, owner, users[i+1], users[i+2], users[i+3])
		groups = append(groups, gid)
	}
	type sent struct{ session, sender, id, clientID string }
	var history []sent
	stats := map[string]int{}
	count := func(kind string, err error) {
		if err != nil {
			var de *domain.Error
			if !errorsAs(err, &de) {
				t.Fatalf("%s: unexpected error %v", kind, err)
			}
			stats["refused"]++
			return
		}
		stats[kind]++
	}
	for i := range n {
		if rng.IntN(20) == 0 {
			e.clock.Advance(time.Duration(rng.IntN(90)) * time.Second)
		}
		user := pick()
		switch r := rng.IntN(100); {
		case r < 60:
			clientID := fmt.Sprintf("c%d", i)
			var cmd command.Send
			if rng.IntN(2) == 0 {
				cmd = command.Send{Meta: as(user), ToUserID: pick()}
			} else {
				cmd = command.Send{Meta: as(user), SessionID: groups[rng.IntN(len(groups))]}
			}
			cmd.MessageType, cmd.Content, cmd.ClientMessageID = 1, fmt.Sprintf("message %d from %s", i, user), clientID
			cmd.ClientTimestamp = e.clock.Now().UnixMilli() - int64(rng.IntN(120_000))
			if rng.IntN(10) == 0 {
				cmd.Ext = []byte(fmt.Sprintf(`{"n":%d}`, i))
			}
			ack, err := e.cmds.Send.Handle(ctx, cmd)
			count("send", err)
			if err == nil {
				history = append(history, sent{ack.SessionID, user, ack.MessageID, clientID})
			}
		case r < 65 && len(history) > 0:
			h := history[rng.IntN(len(history))]
			ack, err := e.cmds.Send.Handle(ctx, command.Send{Meta: as(h.sender), SessionID: h.session, MessageType: 1, Content: "again", ClientMessageID: h.clientID})
			if err == nil && (!ack.Duplicate || ack.MessageID != h.id) {
				t.Fatalf("resend of %s answered %+v", h.id, ack)
			}
			count("duplicate", err)
		case r < 85 && len(history) > 0:
			h := history[rng.IntN(len(history))]
			kind := domain.AckReceived
			if rng.IntN(2) == 0 {
				kind = domain.AckRead
			}
			_, err := e.cmds.Ack.Handle(ctx, command.Ack{Meta: as(pick()), SessionID: h.session, Seq: int64(rng.IntN(40)), AckType: kind})
			count("ack", err)
		case r < 92 && len(history) > 0:
			h := history[len(history)-1-rng.IntN(min(len(history), 10))]
			actor := h.sender
			if rng.IntN(4) == 0 {
				actor = pick()
			}
			count("recall", e.cmds.Recall.Handle(ctx, command.Recall{Meta: as(actor), SessionID: h.session, MessageID: h.id}))
		default:
			g := groups[rng.IntN(len(groups))]
			cmd := command.ChangeMembers{Meta: as(users[rng.IntN(4)]), SessionID: g}
			if rng.IntN(2) == 0 {
				cmd.Add = []string{pick()}
			} else {
				cmd.Remove = []string{pick()}
			}
			_, err := e.cmds.ChangeMembers.Handle(ctx, cmd)
			count("members", err)
		}
	}
	return stats
}
