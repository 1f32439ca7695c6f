package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/handlers/eventview"
)

// event is a feed event of type typ at version v of session, at ms.
func event(session string, v int64, typ string, ms int64) eventview.Event {
	return eventview.Event{StreamID: session, Version: v, Type: typ, Data: []byte(`{}`),
		Metadata: fmt.Appendf(nil, `{"eventId":"00000000-0000-0000-0000-000000000001","occurredAt":%d}`, ms)}
}

// 2023-11-14 22:13:00 UTC, the start of a minute.
const minute0 = 1700000000000 - 20000

func TestCountsPerSessionPerMinuteWithoutRepeats(t *testing.T) {
	t.Parallel()
	c := NewCounts()
	for i, tc := range []struct {
		e    eventview.Event
		want bool
	}{
		{event("d:ann:bob", 1, "SessionCreated", minute0), true},
		{event("d:ann:bob", 2, "MessageSent", minute0+1000), true},
		{event("g:team", 1, "MessageSent", minute0+59999), true},
		{event("d:ann:bob", 3, "MessageSent", minute0+60000), true},
		{event("d:ann:bob", 2, "MessageSent", minute0+1000), false}, // delivered again
		{event("d:ann:bob", 4, "MessagesRead", minute0+61000), true},
		{event("d:ann:bob", 5, "MessageRecalled", minute0+62000), true},
		{event("d:ann:bob", 5, "MessageRecalled", minute0+62000), false},
		{event("g:team", 2, "MessageSent", minute0+1000), true},
	} {
		got, err := c.Add(tc.e)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got != tc.want {
			t.Errorf("event %d (%s@%d): counted %v, want %v", i, tc.e.StreamID, tc.e.Version, got, tc.want)
		}
	}
	var b strings.Builder
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"      minute (UTC)    session  sent  recalled\n" +
		"  2023-11-14 22:13  d:ann:bob     1         0\n" +
		"  2023-11-14 22:13     g:team     2         0\n" +
		"  2023-11-14 22:14  d:ann:bob     1         1\n" +
		"             total                4         1\n"
	if b.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCountsRefuseAMessageWithoutATime(t *testing.T) {
	t.Parallel()
	c := NewCounts()
	e := event("g:team", 1, "MessageSent", 0)
	e.Metadata = []byte(`{"eventId":"00000000-0000-0000-0000-000000000001"}`)
	if _, err := c.Add(e); err == nil || !strings.Contains(err.Error(), "occurredAt") {
		t.Fatalf("Add without occurredAt: err = %v", err)
	}
	// It was not counted, so a readable copy still is.
	if ok, err := c.Add(event("g:team", 1, "MessageSent", minute0)); !ok || err != nil {
		t.Fatalf("Add after a refusal = %v, %v", ok, err)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-every", "0s"}, {"-topic", "bad topic"}, {"extra"}, {"-durable", "bad.name"}} {
		var out, errOut strings.Builder
		if err := mainErr(t.Context(), args, &out, &errOut); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
