package faulttest_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// logged is a MessageSent event as the log holds it.
type logged struct {
	session string
	sender  string
	cid     string
	place
}

// readMessages reads every MessageSent event of the database's log.
func readMessages(ctx context.Context, databaseURL string) ([]logged, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to read the log: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT stream_id, data->>'senderId', data->>'clientMessageId', (data->>'seq')::bigint, data->>'messageId'
		FROM tellyou_events WHERE type = 'MessageSent' ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("read MessageSent events: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (logged, error) {
		var m logged
		err := row.Scan(&m.session, &m.sender, &m.cid, &m.seq, &m.messageID)
		return m, err
	})
}

// outcome is what a test found once the load stopped, checked against the
// log: a row of the reliability table.
type outcome struct {
	acked, lost, duplicated, gaps, undelivered int
	errors                                     map[string]int
}

// documentedSendErrors are the codes a send may be answered with when the
// server cannot make it durable (docs/protocol.md "Errors and close codes"),
// and the connection troubles a client sees while a node or its network is
// gone. Anything else seen under a fault fails the test, a frame left
// unanswered for 15 s included: the server answers every frame within 10 s.
var documentedSendErrors = map[string]bool{
	"unavailable": true, "overloaded": true,
	errConnLost.Error(): true, "dial failed": true,
	"sync: connection lost": true, "sync: unavailable": true, "sync: overloaded": true,
	// The closes of docs/protocol.md a fault may cause: the node shutting
	// down, or a client that fell behind while the node could not write.
	"closed by the server: 1001": true, "closed by the server: 1013": true,
}

// check stops the load, waits until every message reached its recipient
// (at most limit), and checks the log against the acks: every acked message
// is in the log at its acked place, no message is there twice, no session
// has a gap of seqs. It fails the test on any of these, and on an error code
// a client should never see.
func (f *fleet) check(ctx context.Context, databaseURL string, limit time.Duration) outcome {
	t := f.t
	t.Helper()
	f.stop(2 * time.Minute)
	msgs, err := readMessages(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	out := outcome{errors: f.errorCounts()}
	byCID := map[string][]logged{}
	seqs := map[string][]int64{}
	for _, m := range msgs {
		key := m.sender + "/" + m.cid
		byCID[key] = append(byCID[key], m)
		seqs[m.session] = append(seqs[m.session], m.seq)
	}
	var problems []string
	for key, copies := range byCID {
		if len(copies) > 1 {
			out.duplicated += len(copies) - 1
			problems = append(problems, fmt.Sprintf("%s stored %d times", key, len(copies)))
		}
	}
	for session, list := range seqs {
		slices.Sort(list)
		for i, seq := range list {
			if seq != int64(i+1) {
				out.gaps++
				problems = append(problems, fmt.Sprintf("%s: seq %d at place %d", session, seq, i+1))
				break
			}
		}
	}
	for _, u := range f.users {
		for cid, p := range u.ackedCopy() {
			out.acked++
			copies := byCID[u.name+"/"+cid]
			if len(copies) == 0 || copies[0].place != p {
				out.lost++
				problems = append(problems, fmt.Sprintf("%s/%s acked as seq %d %s, the log holds %+v", u.name, cid, p.seq, p.messageID, copies))
			}
		}
	}
	for code, n := range out.errors {
		if !documentedSendErrors[code] {
			problems = append(problems, fmt.Sprintf("clients saw %q %d times, not a documented answer to a fault", code, n))
		}
	}
	// Every message of the log reaches its recipient: pushed, or synced
	// after a reconnection.
	last := map[string]int64{}
	for session, list := range seqs {
		last[session] = slices.Max(list)
	}
	deadline := time.Now().Add(limit)
	var missing []string
	for {
		missing = missing[:0]
		for _, u := range f.users {
			if held := u.heldSeq(); held < last[u.session] {
				missing = append(missing, fmt.Sprintf("%s holds %s up to %d of %d", u.name, u.session, held, last[u.session]))
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out.undelivered = len(missing)
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d users lack messages %v after the load stopped: %s", len(missing), limit, strings.Join(capped(missing, 10), "; ")))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(capped(problems, 40), "\n"))
	}
	return out
}

// report logs a row of the reliability table (docs/reliability.md).
func report(t *testing.T, fault, load string, o outcome, recovery string) {
	t.Helper()
	var errs []string
	for code, n := range o.errors {
		errs = append(errs, fmt.Sprintf("%s x%d", code, n))
	}
	sort.Strings(errs)
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	t.Logf("reliability row: | %s | %s | %d | %d | %d | %s | %s |", fault, load, o.acked, o.lost, o.duplicated, recovery, strings.Join(errs, ", "))
}

func dur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}
