package chatclient_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestTwoUsersChatThroughTheRealServer(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	alice := openTerminal(t, server.Base, "alice")
	bob := openTerminal(t, server.Base, "bob")

	alice.typeLine("/to bob")
	alice.waitFor("[bob] d:alice:bob: new chat")
	alice.typeLine("hello bob")
	alice.waitFor("[bob] alice: hello bob")
	bob.waitFor("[alice] alice: hello bob")

	// Bob answers in the open chat, so he reads what comes, and Alice sees it.
	bob.typeLine("/to alice")
	bob.waitFor("--- [alice] d:alice:bob: ")
	alice.waitFor("[bob] bob read up to 1")
	bob.typeLine("hi alice")
	alice.waitFor("[bob] bob: hi alice")
	alice.typeLine("how are you?")
	bob.waitFor("[alice] alice: how are you?")
	alice.waitFor("[bob] bob read up to 3")

	// A group: created by Alice, with Bob and Carol.
	carol := openTerminal(t, server.Base, "carol")
	alice.typeLine(`/group "book club" bob carol`)
	alice.waitFor("--- [book club] g:")
	alice.typeLine("first meeting on monday")
	bob.waitFor("[book club] alice: first meeting on monday")
	carol.waitFor("[book club] alice: first meeting on monday")
	carol.typeLine("/open book club")
	carol.waitFor("--- [book club] g:")
	carol.typeLine("I'll be there")
	alice.waitFor("[book club] carol: I'll be there")
	bob.waitFor("[book club] carol: I'll be there")

	// Alice takes her last message back: both see the recall.
	alice.typeLine("/open book club")
	alice.waitFor("[book club] carol: I'll be there")
	alice.typeLine("/send nothing") // an unknown command does not reach anyone
	alice.waitFor("error: unknown command /send")
	alice.typeLine("oops, wrong group")
	bob.waitFor("[book club] alice: oops, wrong group")
	alice.typeLine("/recall last")
	alice.waitFor("[book club] alice recalled a message")
	bob.waitFor("[book club] alice recalled a message")
	carol.waitFor("[book club] alice recalled a message")

	// Every message reached each screen once; the unknown command never did.
	for _, check := range []struct {
		term *terminal
		line string
	}{
		{alice, "[bob] alice: hello bob"}, {bob, "[alice] alice: hello bob"},
		{alice, "[bob] bob: hi alice"}, {bob, "[alice] bob: hi alice"},
		{bob, "[book club] alice: first meeting on monday"}, {carol, "[book club] alice: first meeting on monday"},
		{bob, "[book club] carol: I'll be there"}, {carol, "[book club] carol: I'll be there"},
		{bob, "[book club] alice recalled a message"}, {alice, "[bob] bob read up to 3"},
	} {
		if n := check.term.count(check.line); n != 1 {
			t.Errorf("%s saw %q %d times, want once", check.term.user, check.line, n)
		}
	}
	if strings.Contains(bob.screen.String(), "nothing") {
		t.Error("bob was shown the unknown command's argument")
	}
	for _, term := range []*terminal{alice, bob, carol} {
		if err := term.quit(); err != nil {
			t.Errorf("%s: end of input: Run = %v, want nil", term.user, err)
		}
	}
}

func TestLateClientSyncsAndPagesHistoryWithUnreadCounts(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	alice := openTerminal(t, server.Base, "alice")
	alice.typeLine("/to bob")
	for i := 1; i <= 25; i++ {
		alice.typeLine(fmt.Sprintf("message %d", i))
	}
	alice.waitFor("[bob] alice: message 25")
	// The session list has caught up with the log before Bob comes.
	alice.poll("/sessions", "* [bob] d:alice:bob, 0 unread")

	// Bob was offline: his client syncs all 25 on start, in order, and acks
	// them as received only: none is open, so all count as unread.
	bob := openTerminal(t, server.Base, "bob")
	screen := bob.waitFor("[alice] alice: message 25")
	last := -1
	for i := 1; i <= 25; i++ {
		line := fmt.Sprintf("[alice] alice: message %d\n", i)
		at := strings.Index(screen, line)
		if at < last || strings.Count(screen, line) != 1 {
			t.Fatalf("bob's screen does not show %q once, in order:\n%s", line, screen)
		}
		last = at
	}
	bob.poll("/sessions", "  [alice] d:alice:bob, 25 unread")

	// Opening shows the latest page; /history the older ones, then no more.
	mark := bob.mark()
	bob.typeLine("/open alice")
	bob.waitFor("--- [alice] d:alice:bob: latest 20 messages ---")
	bob.waitFor("[alice] alice: message 25")
	if opened := bob.since(mark); strings.Contains(opened, "message 5\n") || !strings.Contains(opened, "message 6\n") {
		t.Fatalf("/open showed another page than messages 6-25:\n%s", opened)
	}
	bob.typeLine("/history")
	bob.waitFor("--- [alice] 5 older messages ---")
	bob.typeLine("/history")
	bob.waitFor("--- [alice] no older messages ---")

	// The open session is read: the unread count falls to 0.
	bob.poll("/sessions", "* [alice] d:alice:bob, 0 unread")
	alice.waitFor("[bob] bob read up to 25")
}

func TestEditAndReactInTheTerminal(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	alice := openTerminal(t, server.Base, "alice")
	bob := openTerminal(t, server.Base, "bob")

	alice.typeLine("/to bob")
	alice.waitFor("[bob] d:alice:bob: new chat")
	alice.typeLine("helo bob")
	bob.waitFor("[alice] alice: helo bob")
	alice.typeLine("/edit last hello bob")
	alice.waitFor("[bob] message 1 edited: hello bob")
	bob.waitFor("[alice] message 1 edited: hello bob")

	bob.typeLine("/to alice")
	bob.waitFor("--- [alice] d:alice:bob: ")
	bob.typeLine("/react last 👍")
	alice.waitFor("[bob] bob reacted 👍 to message 1")
	bob.waitFor("[alice] bob reacted 👍 to message 1")
	bob.typeLine("/unreact last 👍")
	alice.waitFor("[bob] bob took back 👍 from message 1")
	bob.typeLine("/edit last mine now")
	bob.waitFor("error: no message of yours shown in [alice]")
	bob.typeLine("/edit nope x")
	bob.waitFor(`error: "nope" is not a message id (a UUID), nor last`)
}
