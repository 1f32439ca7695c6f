package chatclient_test

import "testing"

func TestMuteInTheTerminal(t *testing.T) {
	t.Parallel()
	server := startServer(t, "")
	alice := openTerminal(t, server.Base, "alice")
	alice.typeLine("/mute")
	alice.waitFor("error: no session open")
	alice.typeLine("/to bob")
	alice.waitFor("[bob] d:alice:bob: new chat")
	alice.typeLine("hi")
	alice.waitFor("[bob] alice: hi")
	alice.typeLine("/mute")
	alice.waitFor("[bob] muted: no offline notifications")
	alice.poll("/sessions", "* [bob] d:alice:bob, 0 unread, muted")
	alice.typeLine("/unmute")
	alice.waitFor("[bob] unmuted: offline notifications resume")
	alice.poll("/sessions", "* [bob] d:alice:bob, 0 unread\n")
}
