package chatclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/chatclient"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

func TestNewRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in, out := strings.NewReader(""), &strings.Builder{}
	for _, tt := range []struct {
		name string
		cfg  chatclient.Config
		want string
	}{
		{"no server", chatclient.Config{Token: tok, In: in, Out: out}, "server URL is required"},
		{"not http", chatclient.Config{ServerURL: "ftp://x", Token: tok, In: in, Out: out}, "scheme must be http or https"},
		{"a path", chatclient.Config{ServerURL: "http://x:1/v1/ws", Token: tok, In: in, Out: out}, "without a path"},
		{"no token", chatclient.Config{ServerURL: "http://x:1", In: in, Out: out}, "a token is required"},
		{"not a jwt", chatclient.Config{ServerURL: "http://x:1", Token: "secret", In: in, Out: out}, "not a JWT"},
		{"bad user", chatclient.Config{ServerURL: "http://x:1", Token: tok, User: "a b", In: in, Out: out}, "user id"},
		{"no output", chatclient.Config{ServerURL: "http://x:1", Token: tok, In: in}, "input and output"},
		{"big page", chatclient.Config{ServerURL: "http://x:1", Token: tok, In: in, Out: out, PageSize: 500}, "at most 200"},
	} {
		if _, err := chatclient.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := chatclient.New(chatclient.Config{ServerURL: "https://chat.example/", Token: tok, In: in, Out: out}); err != nil {
		t.Errorf("a good configuration was refused: %v", err)
	}
}

func TestUserFromToken(t *testing.T) {
	t.Parallel()
	tok, err := auth.Mint([]byte(testSecret), auth.Principal{UserID: "ann.b-2", Device: "d"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if user, err := chatclient.UserFromToken(tok); err != nil || user != "ann.b-2" {
		t.Fatalf("UserFromToken = %q, %v; want ann.b-2", user, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a.bm90IGpzb24.c", "a.eyJzdWIiOiIifQ.c"} {
		if user, err := chatclient.UserFromToken(bad); err == nil {
			t.Errorf("UserFromToken(%q) = %q, want an error", bad, user)
		}
	}
}
