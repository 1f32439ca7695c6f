package chatclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/chatclient"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

func TestBadInputGetsClearErrorsAndTheChatGoesOn(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	alice := openTerminal(t, server.Base, "alice")
	for _, step := range []struct{ line, want string }{
		{"hello?", "error: no session open: /to USER, /open SESSION or /group TITLE USER... first"},
		{"/history", "error: no session open"},
		{"/recall last", "error: no session open"},
		{"/dance", "error: unknown command /dance (/help lists the commands)"},
		{"/open", "error: usage: /open SESSION"},
		{"/to", "error: usage: /to USER"},
		{"/to bob carol", "error: usage: /to USER"},
		{"/group solo", "error: usage: /group TITLE USER..."},
		{`/group "no end bob`, "error: unterminated quote"},
		{"/to bad!user", `error: "bad!user" is not a user id`},
		{"/to alice", "error: you cannot chat with yourself"},
		{"/open nobody", `error: no session "nobody": /sessions lists yours`},
		{"/open g:00000000-0000-0000-0000-000000000000", "not_found: "},
		{"/group team bad!user", "bad_request: "},
		{"/sessions", "no sessions yet"},
		{"/to bob", "--- [bob] d:alice:bob: new chat"},
		{"/history", "--- [bob] no older messages ---"},
		{"/recall last", "error: no message of yours shown in [bob] to recall"},
		{"/recall 42", `error: "42" is not a message id (a UUID), nor last`},
		{"/recall 0b8d6f0e-5d1c-4c1e-9f62-3c5d0c2a8e11", "error: recall refused: not_found: "},
		{strings.Repeat("x", 40000), "error: message too long: 40000 bytes, at most 32768"},
		{"/help", "/group TITLE USER..."},
		{"//slash at the start", "[bob] alice: /slash at the start"},
		{"still here", "[bob] alice: still here"},
	} {
		mark := alice.mark()
		alice.typeLine(step.line)
		alice.waitSince(mark, step.want)
	}
	// Bob is not a member of Alice's session with Carol: the server refuses.
	carol := openTerminal(t, server.Base, "carol")
	carol.typeLine("/to alice")
	carol.typeLine("hi")
	alice.waitFor("[carol] carol: hi")
	bob := openTerminal(t, server.Base, "bob")
	bob.typeLine("/open d:alice:carol")
	bob.waitFor("error: history of d:alice:carol: forbidden: ")

	alice.typeLine("/quit")
	select {
	case err := <-alice.done:
		alice.done <- err
		if err != nil {
			t.Fatalf("/quit: Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("/quit did not end the client")
	}
}

func TestATokenTheServerRefusesEndsTheClient(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	forged, err := auth.Mint([]byte("another-secret-0123456789abcdef"), auth.Principal{UserID: "mallory"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	term := startTerminal(t, "mallory", chatclient.Config{ServerURL: server.Base, Token: forged})
	select {
	case err := <-term.done:
		term.done <- err
		if err == nil || !strings.Contains(err.Error(), "unauthorized") {
			t.Fatalf("Run with a forged token = %v, want an unauthorized error", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the client kept going with a token the server refuses")
	}
}
