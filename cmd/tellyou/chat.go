package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tellyou/tellyou/cmd/tellyou/chatclient"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// chatTokenTTL is how long a token minted by `chat --user` is valid.
const chatTokenTTL = 24 * time.Hour

// chatCmd runs a terminal chat client: lines from stdin are sent or run as
// commands, the conversation goes to stdout.
func chatCmd(ctx context.Context, cfg config, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "chat as this user, with a token minted from TELLYOU_JWT_SECRET or the secret the server stored")
	token := fs.String("token", "", "chat with this token (default: TELLYOU_TOKEN)")
	server := fs.String("server", "", "the server's base URL (default: http:// and TELLYOU_ADDR, "+
		"with a wildcard host replaced by loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chat: unexpected argument %q", fs.Arg(0))
	}
	base := *server
	if base == "" {
		var err error
		if base, err = chatServerURL(cfg.Addr); err != nil {
			return fmt.Errorf("chat: %w", err)
		}
	}
	tok, err := chatToken(ctx, cfg, *user, *token, getenv("TELLYOU_TOKEN"))
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	client, err := chatclient.New(chatclient.Config{ServerURL: base, Token: tok, User: *user, In: stdin, Out: stdout})
	if err != nil {
		return err
	}
	return client.Run(ctx)
}

// chatToken picks the token to chat with: minted for --user, else --token,
// else TELLYOU_TOKEN.
func chatToken(ctx context.Context, cfg config, user, token, envToken string) (string, error) {
	switch {
	case user != "" && token != "":
		return "", errors.New("give --user or --token, not both")
	case user != "":
		secret, err := signingSecret(ctx, cfg)
		if err != nil {
			return "", fmt.Errorf("mint a token for %s: %w", user, err)
		}
		tok, err := auth.Mint(secret, auth.Principal{UserID: user, Device: "chat"}, time.Now(), chatTokenTTL)
		if err != nil {
			return "", fmt.Errorf("mint a token for %s: %w", user, err)
		}
		return tok, nil
	case token != "":
		return token, nil
	case envToken != "":
		return envToken, nil
	}
	return "", errors.New("say who you are: --user NAME, --token TOKEN or TELLYOU_TOKEN")
}

// chatServerURL is the base URL of a server listening on addr (TELLYOU_ADDR);
// a wildcard or empty host is reached on loopback.
func chatServerURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", addr, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "", ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
