package loadgen_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/loadgen"
)

func TestOverloadedSendsAreResentUnchangedAndInOrder(t *testing.T) {
	t.Parallel()
	const messages = 40
	for _, inFlight := range []int{1, 4} {
		t.Run(fmt.Sprintf("in flight %d", inFlight), func(t *testing.T) {
			t.Parallel()
			retryAfter := 30 * time.Millisecond
			fake := startFakeOverloadingServer(t, retryAfter)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var reports []*loadgen.Report
			err := loadgen.Run(ctx, loadgen.Config{Addr: fake.addr(), Secret: []byte(testSecret), Scenario: loadgen.ScenarioDirect,
				// The drain ends once pushes stop for a while (one is never
				// pushed): a short bound would cut off pushes that a busy
				// machine has not read yet.
				Users: 4, InFlight: inFlight, Messages: messages, Drain: 20 * time.Second, Settle: -1},
				func(r *loadgen.Report) error { reports = append(reports, r); return nil })
			if err != nil {
				t.Fatal(err)
			}
			r := reports[0]
			conns, refused := fake.snapshot()
			if refused == 0 || r.Overloaded != int64(refused) || r.Resent != int64(refused) {
				t.Errorf("the fake refused %d sends; the report counts %d refusals and %d resends", refused, r.Overloaded, r.Resent)
			}
			if r.Sent != messages || r.Acked != messages || r.Unanswered != 0 || len(r.Errors) != 0 || r.DuplicateAcks != 0 {
				t.Errorf("sent %d, acked %d, unanswered %d, duplicates %d, errors %v; want all %d acked once without errors",
					r.Sent, r.Acked, r.Unanswered, r.DuplicateAcks, r.Errors, messages)
			}
			// A refused message is acked at least retryAfterMs after its
			// first attempt; the admitted attempt is what sendAckLatency
			// measures from.
			if r.SendAckFirstLatency.Count != messages || r.SendAckFirstLatency.Max < float64(retryAfter.Milliseconds()) ||
				r.SendAckFirstLatency.Max < r.SendAckLatency.Max {
				t.Errorf("from the first attempt %+v, from the admitted one %+v", r.SendAckFirstLatency, r.SendAckLatency)
			}
			// Pushed twice: the 5th, 10th, ... stored message; never pushed:
			// the 7th.
			if r.Repeats != messages/5 || r.Missing == nil || *r.Missing != 1 || *r.MissingAfter5s != 1 || r.Delivered != messages-1 {
				t.Errorf("repeats %d, delivered %d, missing %s (after 5 s %s); want %d, %d, 1 and 1", r.Repeats, r.Delivered,
					deref(r.Missing), deref(r.MissingAfter5s), messages/5, messages-1)
			}
			var stored int
			for user, c := range conns {
				stored += len(c.stored)
				if len(c.stored) != len(c.first) {
					t.Errorf("%s: %d messages stored of %d sent", user, len(c.stored), len(c.first))
				}
				if !inOrderOf(c.resends, c.first) {
					t.Errorf("%s resent %v, not in the order of their first attempts %v", user, c.resends, c.first)
				}
				if inFlight == 1 && !slices.Equal(c.stored, c.first) {
					t.Errorf("%s: stored %v, want the send order %v", user, c.stored, c.first)
				}
			}
			if stored != messages {
				t.Errorf("the fake stored %d messages, want %d", stored, messages)
			}
		})
	}
}

// inOrderOf reports whether the items of sub appear in the order they have
// in all.
func inOrderOf(sub, all []string) bool {
	at := -1
	for _, s := range sub {
		i := slices.Index(all, s)
		if i <= at {
			return false
		}
		at = i
	}
	return true
}

// deref shows an optional count.
func deref(n *int64) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}
