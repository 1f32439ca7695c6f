package chatclient_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

// inOrderOnce fails the test unless each line is on the screen exactly
// once, in the given order.
func inOrderOnce(t *testing.T, term *terminal, lines ...string) {
	t.Helper()
	screen := term.screen.String()
	last := -1
	for _, line := range lines {
		at := strings.Index(screen, "\n"+line+"\n")
		if n := term.count(line); n != 1 || at < last {
			t.Fatalf("%s's screen shows %q %d times (at %d, after %d); want once, in order:\n%s", term.user, line, n, at, last, screen)
		}
		last = at
	}
}

func TestDroppedConnectionReconnectsAndSyncsWithoutDuplicates(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	network := startProxy(t, server.Addr())
	alice := openTerminal(t, server.Base, "alice")
	bob := openTerminal(t, network.Base(), "bob")

	alice.typeLine("/to bob")
	alice.typeLine("before the drop")
	bob.waitFor("[alice] alice: before the drop")
	bob.typeLine("/to alice")
	bob.waitFor("--- [alice] d:alice:bob: ")

	// Bob's network goes away: his connection drops and he cannot come back.
	network.setDown(true)
	network.drop()
	bob.waitFor("connection lost")
	for i := 1; i <= 3; i++ {
		alice.typeLine(fmt.Sprintf("while you were away %d", i))
	}
	alice.waitFor("[bob] alice: while you were away 3")
	// What Bob types meanwhile waits for the connection and is sent once.
	bob.typeLine("typed while offline")

	network.setDown(false)
	bob.waitFor("reconnected")
	bob.waitFor("[alice] alice: while you were away 3")
	alice.waitFor("[bob] bob: typed while offline")
	bob.waitFor("[alice] bob: typed while offline")
	alice.typeLine("after the drop")
	bob.waitFor("[alice] alice: after the drop")

	inOrderOnce(t, bob, "[alice] alice: before the drop", "[alice] alice: while you were away 1",
		"[alice] alice: while you were away 2", "[alice] alice: while you were away 3",
		"[alice] bob: typed while offline", "[alice] alice: after the drop")
	inOrderOnce(t, alice, "[bob] alice: before the drop", "[bob] alice: while you were away 3",
		"[bob] bob: typed while offline", "[bob] alice: after the drop")
}

func TestServerRestartReconnectsAndSyncsWithoutDuplicates(t *testing.T) {
	t.Parallel()
	database := smallPool(pgtest.NewDatabase(t))
	first := startServer(t, database)
	balancer := startProxy(t, first.Addr())
	alice := openTerminal(t, balancer.Base(), "alice")
	bob := openTerminal(t, balancer.Base(), "bob")

	alice.typeLine("/group team bob")
	alice.waitFor("--- [team] g:")
	alice.typeLine("before the restart")
	bob.waitFor("[team] alice: before the restart")

	// The server stops; another starts on the same database, behind the same
	// address.
	first.Stop(t)
	bob.waitFor("connection lost")
	alice.waitFor("connection lost")
	second := servertest.Start(t, binary, "second", "TELLYOU_DATABASE_URL="+database, "TELLYOU_JWT_SECRET="+testSecret)
	balancer.setTarget(second.Addr())
	alice.typeLine("after the restart")
	bob.waitFor("[team] alice: after the restart")
	bob.typeLine("/open team")
	bob.waitFor("--- [team] g:")
	bob.typeLine("welcome back")
	alice.waitFor("[team] bob: welcome back")

	inOrderOnce(t, bob, "[team] alice: before the restart", "[team] alice: after the restart", "[team] bob: welcome back")
	inOrderOnce(t, alice, "[team] alice: before the restart", "[team] alice: after the restart", "[team] bob: welcome back")
	if !strings.Contains(bob.screen.String(), "reconnected") {
		t.Error("bob's screen never said it reconnected")
	}
}
