// Command tellyou is the TellYou instant-messaging server and its operator tools.
//
//	tellyou serve                       run the server
//	tellyou migrate                     create the database if missing and apply migrations
//	tellyou rebuild [--projection NAME] replay the log into fresh read models and switch over
//	tellyou audit --session ID | --user U
//	                                    print a session's (or a user's own) raw events with metadata
//	tellyou erase --user U [--by NAME]  erase a user's content (crypto-shredding; the log keeps the audit)
//	tellyou deadletters [--limit N]     print the latest events the push hub gave up on
//	tellyou token --user U [--role auditor|admin] [--ttl D] [--device NAME]
//	                                    mint a JWT for a user
//	tellyou searchbench [--fill] [flags]
//	                                    fill a database with messages and time
//	                                    searches over them
//	tellyou chat --user U | --token T [--server URL]
//	                                    chat in the terminal: lines from stdin
//	                                    are sent, or run as /commands
//	tellyou keys generate               print a new master key (base64)
//	tellyou keys rotate-master [--batch N]
//	                                    rewrap every data key with TELLYOU_NEW_MASTER_KEY
//
// Configuration comes from the environment (see config.go and docs/protocol.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runWithInput(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tellyou:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: tellyou <command> [flags]

commands:
  serve                         run the server
  migrate                       create the database if missing and apply migrations
  rebuild [--projection NAME]   rebuild read models from the event log
  audit --session ID | --user U print a session's (or a user's own) events with metadata
  erase --user U [--by NAME]    erase a user's content; the log keeps who asked and when
  deadletters [--limit N]       print the latest events pushes gave up on
  token --user U [--role auditor|admin] [--ttl 24h] [--device NAME]
                                mint a JWT for a user
  bench --scenario S [flags]    drive a running server with load and report (bench -h)
  searchbench [--fill] [flags]  fill a database with messages and time searches (searchbench -h)
  chat --user U | --token T [--server URL]
                                chat in the terminal (TELLYOU_TOKEN works as --token; /help inside)
  keys generate                 print a new master key for TELLYOU_MASTER_KEY
  keys rotate-master [--batch N]
                                rewrap every data key with TELLYOU_NEW_MASTER_KEY
`

// run is runWithInput with an empty standard input: a command that reads it
// (chat) sees its end at once.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithInput(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

// runWithInput runs the command args names, with the process's environment
// and standard streams passed in.
func runWithInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogFormat)
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serveCmd(ctx, cfg, logger, rest, stderr)
	case "migrate":
		return migrateCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "rebuild":
		return rebuildCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "audit":
		return auditCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "erase":
		return eraseCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "token":
		return tokenCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "deadletters":
		return deadLettersCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "bench":
		return benchCmd(ctx, cfg, logger, rest, stdin, stdout, stderr)
	case "searchbench":
		return searchBenchCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "keys":
		return keysCmd(ctx, cfg, logger, rest, stdout, stderr)
	case "chat":
		return chatCmd(ctx, cfg, rest, getenv, stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
