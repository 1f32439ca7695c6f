package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// unreachableDatabase stands for the read models' database being out of
// reach for the member lookups of one session: those fail, others are
// answered.
type unreachableDatabase struct{ session string }

func (u unreachableDatabase) Members(_ context.Context, sessionID string) ([]string, error) {
	if sessionID == u.session {
		return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return []string{"ann", "bob"}, nil
}

// TestDeadLettersAreKeptAndListed runs the push hub with serve's durable
// dead-letter publisher: a push it gives up on after its retries lands in
// PostgreSQL, is counted, holds nobody else's pushes up, and `tellyou
// deadletters` shows it.
func TestDeadLettersAreKeptAndListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	getenv := env(map[string]string{"TELLYOU_DATABASE_URL": url})
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"deadletters"}, getenv, &out, &errOut); err != nil || out.Len() != 0 {
		t.Fatalf("deadletters before any = %v, printed %q", err, out.String())
	}

	pool, err := openDatabase(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	deadLetters, err := newDeadLetterPublisher(pool, logger)
	if err != nil {
		t.Fatal(err)
	}
	broken, fine := "g:"+uuid.NewString(), "g:"+uuid.NewString()
	m := metrics.New()
	hub, err := delivery.New(delivery.Config{
		Options:     delivery.Options{MaxRetries: 3, RetryInterval: time.Millisecond},
		DeadLetters: deadLetters, Members: unreachableDatabase{session: broken}, Metrics: m, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Go(func() {
		if err := hub.Run(runCtx); err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	<-hub.Ready()
	bob := &frames{}
	hub.Register("bob", bob)

	publish := func(session string, version int64) events.Committed {
		t.Helper()
		c := committedMessage(t, session, version)
		hub.Committed(c)
		return c
	}
	publish(fine, 1)
	lost := publish(broken, 1)
	publish(fine, 2)
	for deadline := time.Now().Add(time.Minute); bob.count() < 2 || testutil.ToFloat64(m.DeadLetters) < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("bob got %d pushes and %v dead letters, want the 2 of the fine session and 1",
				bob.count(), testutil.ToFloat64(m.DeadLetters))
		}
		time.Sleep(5 * time.Millisecond)
	}

	out.Reset()
	if err := run(ctx, []string{"deadletters", "--limit", "10"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("deadletters: %v (%s)", err, errOut.String())
	}
	var listed deadLetter
	if err := json.Unmarshal(out.Bytes(), &listed); err != nil {
		t.Fatalf("deadletters printed %q: %v", out.String(), err)
	}
	var payload wire.AuditEvent
	if err := json.Unmarshal(listed.Payload, &payload); err != nil {
		t.Fatalf("dead letter payload %s: %v", listed.Payload, err)
	}
	if listed.UUID != lost.Events[0].EventID.String() || payload.StreamID != broken || payload.Type != events.TypeMessageSent ||
		!strings.Contains(listed.Reason, "connection refused") || time.Since(listed.At) > time.Minute || listed.At.After(time.Now()) {
		t.Fatalf("deadletters listed %+v, want the push to %s, with why and when", listed, broken)
	}
	if err := run(ctx, []string{"deadletters", "--limit", "0"}, getenv, &out, &errOut); err == nil {
		t.Fatal("--limit 0 accepted")
	}
}

// committedMessage is a MessageSent at version of the session, as the fast
// path hands it to the hub.
func committedMessage(t *testing.T, session string, version int64) events.Committed {
	t.Helper()
	env := events.Envelope{Meta: events.Metadata{Actor: "ann", OccurredAt: time.Now().UnixMilli()},
		Payload: events.MessageSent{SessionID: session, MessageID: uuid.NewString(), Seq: version, SenderID: "ann",
			MessageType: 1, Content: fmt.Sprint("m", version), ClientMessageID: fmt.Sprint("c", version)}}
	d, err := events.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	return events.Committed{StreamID: session, FirstVersion: version, Position: events.Position(version),
		Prev: events.Position(version - 1), Events: []events.EventData{d}, Envelopes: []events.Envelope{env}}
}

// frames is a connection's outbox that counts what it is given.
type frames struct {
	mu sync.Mutex
	n  int
}

func (f *frames) Enqueue([]byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return true
}

func (f *frames) Queued() int { return 0 }

func (f *frames) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}
