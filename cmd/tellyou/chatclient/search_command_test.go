package chatclient_test

import (
	"strings"
	"testing"
)

func TestSearchShowsMatchesOfOwnSessionsOnly(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	alice := openTerminal(t, server.Base, "alice")
	alice.typeLine("/to bob")
	alice.typeLine("the red kite flew")
	alice.typeLine("nothing here")
	alice.typeLine("a red kite and a red balloon")
	alice.waitFor("[bob] alice: a red kite and a red balloon")
	carol := openTerminal(t, server.Base, "carol")
	carol.typeLine("/to dave")
	carol.typeLine("carol's red kite")
	carol.waitFor("[dave] carol: carol's red kite")

	mark := alice.mark()
	alice.poll(`/search "red kite"`, "--- search \"red kite\": 2 best matches ---")
	screen := alice.since(mark)
	if !strings.Contains(screen, "[bob] #3 alice: a *red* *kite* and a *red* balloon") ||
		!strings.Contains(screen, "[bob] #1 alice: the *red* *kite* flew") {
		t.Fatalf("alice's search shows:\n%s", screen)
	}
	if strings.Contains(screen, "carol's") {
		t.Fatalf("alice finds carol's message:\n%s", screen)
	}
	alice.typeLine("/search zebra")
	alice.waitFor("--- search zebra: no messages match ---")
	alice.typeLine("/search")
	alice.waitFor("error: usage: /search WORDS")
}
