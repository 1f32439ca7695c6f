package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/readmodels"
)

// clearInLog counts the events whose stored JSON holds s.
func (e *env) clearInLog(t *testing.T, s string) int {
	t.Helper()
	var n int
	if err := e.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM tellyou_events WHERE data::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%'`, s).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) history(t *testing.T, sessionID string) []readmodels.Message {
	t.Helper()
	page, err := e.RM.Messages(context.Background(), sessionID, readmodels.PageQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

// TestSealedContentIsPushedShownAndForgotten sends over real WebSockets: the
// log holds the content sealed only, while pushes (by the fast path, and by
// the follower of the log), edits, history and a rebuild show it in clear;
// once the sender is erased a rebuild shows the message erased.
func TestSealedContentIsPushedShownAndForgotten(t *testing.T) {
	t.Parallel()
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprint("fastPath=", fast), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{noFastPath: !fast})
			ann, bob := e.connect(t, "ann"), e.connect(t, "bob")
			secret := "sealed-" + uuid.NewString()
			edited := "edited-" + uuid.NewString()
			ack := ann.request(sendTo("s1", "bob", secret))
			if ack.Type != "sendAck" {
				t.Fatalf("sendAck = %s", ack.raw)
			}
			if got := bob.await("the message", isMessage(ack.Seq)).msg(); got.Content != secret {
				t.Fatalf("bob was pushed content %q, want %q", got.Content, secret)
			}
			bobAck := bob.request(send("b1", "d:ann:bob", "bob's own words"))
			if f := ann.request(edit("e1", "d:ann:bob", ack.MessageID, edited)); f.Type != "ok" {
				t.Fatalf("edit = %s", f.raw)
			}
			if f := bob.await("the edit", isType("edited")); f.Content != edited {
				t.Fatalf("bob was pushed the edit %s, want content %q", f.raw, edited)
			}
			e.CaughtUp(t)
			for _, s := range []string{secret, edited, "bob's own words"} {
				if n := e.clearInLog(t, s); n != 0 {
					t.Fatalf("%d events hold %q in clear", n, s)
				}
			}
			if n := e.clearInLog(t, `"sealed":{"kid":`); n != 3 {
				t.Fatalf("%d sealed events in the log, want 3 (two sends, one edit)", n)
			}
			want := map[int64]string{ack.Seq: edited, bobAck.Seq: "bob's own words"}
			check := func(when string, want map[int64]string) {
				t.Helper()
				msgs := e.history(t, "d:ann:bob")
				if len(msgs) != len(want) {
					t.Fatalf("%s: history holds %d messages, want %d", when, len(msgs), len(want))
				}
				for _, m := range msgs {
					if m.Content != want[m.Seq] {
						t.Fatalf("%s: message %d shows %q, want %q", when, m.Seq, m.Content, want[m.Seq])
					}
				}
			}
			check("live", want)
			ctx := context.Background()
			if _, err := projections.RebuildAllOpened(ctx, e.Store, e.Pool, nil, nil, e.Sealer); err != nil {
				t.Fatal(err)
			}
			check("rebuilt", want)

			if err := e.Keys.EraseUser(ctx, "ann"); err != nil {
				t.Fatal(err)
			}
			if _, err := projections.RebuildAllOpened(ctx, e.Store, e.Pool, nil, nil, e.Sealer); err != nil {
				t.Fatal(err)
			}
			want[ack.Seq] = "" // erased: the content is gone, the message keeps its seq
			check("rebuilt after the erasure", want)
			if f := ann.request(send("s2", "d:ann:bob", "after")); f.Type != "error" || f.Code != "forbidden" {
				t.Fatalf("send by an erased user = %s", f.raw)
			}
		})
	}
}
