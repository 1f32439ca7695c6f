package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

func TestChatRefusesMissingOrConflictingIdentityAndBadFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{[]string{"chat"}, nil, "--user NAME, --token TOKEN or TELLYOU_TOKEN"},
		{[]string{"chat", "--user", "ann", "--token", "x.y.z"}, nil, "not both"},
		{[]string{"chat", "--token", "x.y.z", "now"}, nil, `unexpected argument "now"`},
		{[]string{"chat", "--token", "x.eyJzdWIiOiJhbm4ifQ.z", "--server", "ftp://host"}, nil, "scheme must be http or https"},
		{[]string{"chat", "--token", "not-a-jwt"}, nil, "not a JWT"},
		{[]string{"chat"}, map[string]string{"TELLYOU_TOKEN": "x.eyJzdWIiOiJhbm4ifQ.z", "TELLYOU_ADDR": "nohost"}, "server address"},
		{[]string{"chat", "--user", "ann"}, map[string]string{"TELLYOU_JWT_SECRET": "short"}, "at least 16 bytes"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tt.args, env(tt.vars), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v with %v: %v, want an error containing %q", tt.args, tt.vars, err, tt.want)
		}
	}
}

func TestChatServerURLFromTheListenAddress(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:8080":    "http://127.0.0.1:8080",
		"0.0.0.0:9000":      "http://127.0.0.1:9000",
		":7000":             "http://127.0.0.1:7000",
		"[::]:7000":         "http://[::1]:7000",
		"[::1]:7001":        "http://[::1]:7001",
		"chat.internal:443": "http://chat.internal:443",
	} {
		if got, err := chatServerURL(addr); err != nil || got != want {
			t.Errorf("chatServerURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if got, err := chatServerURL("8080"); err == nil {
		t.Errorf("chatServerURL(8080) = %q, want an error", got)
	}
}

func TestChatMintsItsTokenWithTheStoredSecretAndReadsTellyouToken(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	if strings.Contains(url, "?") {
		url += "&pool_max_conns=4"
	} else {
		url += "?pool_max_conns=4"
	}
	n := startNodeWith(t, url, "") // the server generates and stores the secret
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Ann chats with a token minted from the stored secret; the end of her
	// input ends the client.
	var out, errOut bytes.Buffer
	stdin := strings.NewReader("/to bob\nhello from the terminal\n")
	args := []string{"chat", "--user", "ann", "--server", n.base}
	if err := runWithInput(ctx, args, env(map[string]string{"TELLYOU_DATABASE_URL": url}), stdin, &out, &errOut); err != nil {
		t.Fatalf("chat --user ann: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "[bob] ann: hello from the terminal\n") {
		t.Fatalf("ann's screen does not show her message:\n%s", out.String())
	}

	// Bob takes a token from TELLYOU_TOKEN and the server from TELLYOU_ADDR.
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	secret, err := auth.LoadSecret(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(secret, auth.Principal{UserID: "bob"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	vars := map[string]string{"TELLYOU_TOKEN": tok, "TELLYOU_ADDR": strings.TrimPrefix(n.base, "http://")}
	if err := runWithInput(ctx, []string{"chat"}, env(vars), strings.NewReader("/to ann\nhi ann\n"), &out, &errOut); err != nil {
		t.Fatalf("chat with TELLYOU_TOKEN: %v\n%s%s", err, out.String(), errOut.String())
	}
	screen := out.String()
	if !strings.Contains(screen, "connected to "+n.base+" as bob") || !strings.Contains(screen, "[ann] bob: hi ann\n") {
		t.Fatalf("bob's screen:\n%s", screen)
	}
}
