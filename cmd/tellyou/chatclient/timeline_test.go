package chatclient

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func msg(session string, seq int64, sender string) Message {
	return Message{MessageID: fmt.Sprintf("m%d", seq), SessionID: session, Seq: seq, SenderID: sender,
		MessageType: 1, Content: fmt.Sprintf("text %d", seq)}
}

func TestTimelineShowsEachMessageOnceInSeqOrder(t *testing.T) {
	t.Parallel()
	var screen bytes.Buffer
	tl := newTimeline("alice", 50, &printer{w: &screen})
	tl.learn([]Session{{SessionID: "d:alice:bob", LastSeq: 2, ReadSeq: 1}})

	// 4 arrives before 3: it waits, and the session needs a sync.
	if gaps := tl.deliver([]Message{msg("d:alice:bob", 2, "bob"), msg("d:alice:bob", 4, "bob")}); !reflect.DeepEqual(gaps, []string{"d:alice:bob"}) {
		t.Fatalf("gaps = %v, want the session", gaps)
	}
	if !tl.waiting() {
		t.Fatal("waiting() = false while 4 waits for 3")
	}
	if gaps := tl.deliver([]Message{msg("d:alice:bob", 4, "bob")}); gaps != nil {
		t.Fatalf("a second gap report while the sync runs: %v", gaps)
	}
	// The sync brings 2 again, 3 and 4: only 3 and 4 are new.
	tl.deliver([]Message{msg("d:alice:bob", 2, "bob"), msg("d:alice:bob", 3, "alice"), msg("d:alice:bob", 4, "bob")})
	if tl.syncDone("d:alice:bob") {
		t.Fatal("syncDone asks for another sync with no gap left")
	}
	if tl.waiting() {
		t.Fatal("waiting() = true with no gap left")
	}
	want := "[bob] bob: text 2\n[bob] alice: text 3\n[bob] bob: text 4\n"
	if screen.String() != want {
		t.Fatalf("screen:\n%s\nwant:\n%s", screen.String(), want)
	}
	if got := tl.lastOwn("d:alice:bob"); got != "m3" {
		t.Errorf("lastOwn = %q, want m3", got)
	}

	// Receipts: shown when they cover my latest message, once each.
	screen.Reset()
	tl.receipt("d:alice:bob", "bob", "received", 2) // before my message
	tl.receipt("d:alice:bob", "bob", "read", 4)
	tl.receipt("d:alice:bob", "bob", "received", 4) // read already said it
	tl.receipt("d:alice:bob", "bob", "read", 4)
	tl.recalled("d:alice:bob", "m3", "alice")
	tl.recalled("d:alice:bob", "m3", "alice")
	if want := "[bob] bob read up to 4\n[bob] alice recalled a message\n"; screen.String() != want {
		t.Fatalf("screen:\n%s\nwant:\n%s", screen.String(), want)
	}

	// Acks: received up to what was shown, read once the session is open.
	if due := tl.acksDue(); len(due) != 1 || due[0].AckType != "received" || due[0].Seq != 4 {
		t.Fatalf("acks due = %+v, want received up to 4", due)
	}
	tl.acked(ackFrame{SessionID: "d:alice:bob", Seq: 4, AckType: "received"})
	tl.setOpen("d:alice:bob", "bob")
	if due := tl.acksDue(); len(due) != 1 || due[0].AckType != "read" || due[0].Seq != 4 {
		t.Fatalf("acks due = %+v, want read up to 4", due)
	}
}

func TestTimelineStartsNewSessionsAfterTheReadWatermark(t *testing.T) {
	t.Parallel()
	var screen bytes.Buffer
	tl := newTimeline("alice", 10, &printer{w: &screen})
	tl.learn([]Session{
		{SessionID: "g:busy", Kind: "group", Title: "busy", LastSeq: 100, ReadSeq: 30},
		{SessionID: "d:alice:bob", LastSeq: 5, ReadSeq: 3},
	})
	if got := tl.held("g:busy"); got != 90 {
		t.Errorf("busy group starts after %d, want 90 (the last 10 unread)", got)
	}
	if got := tl.held("d:alice:bob"); got != 3 {
		t.Errorf("direct session starts after %d, want its read seq 3", got)
	}
	if !strings.Contains(screen.String(), "[busy] 60 earlier unread messages not shown") {
		t.Errorf("no note about the skipped messages: %q", screen.String())
	}
	behind := tl.behind()
	if len(behind) != 2 {
		t.Errorf("behind = %v, want both sessions", behind)
	}
	// A session first seen in a push starts at that message.
	tl.deliver([]Message{msg("d:alice:carol", 7, "carol")})
	if got := tl.held("d:alice:carol"); got != 7 {
		t.Errorf("pushed session held %d, want 7", got)
	}
	// So does one opened before its history reached the read model.
	tl.setOpen("d:alice:dave", "dave")
	tl.showPage("d:alice:dave", "--- empty ---", nil)
	screen.Reset()
	if gaps := tl.deliver([]Message{msg("d:alice:dave", 2, "alice")}); gaps != nil || screen.String() != "[dave] alice: text 2\n" {
		t.Errorf("first message after an empty page: gaps %v, screen %q", gaps, screen.String())
	}
}
