package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/handlers/delivery"
)

// Dead letters are the events the delivery hub gave up on (see delivery.DefaultDeadLetterTopic). They
// are kept in PostgreSQL with watermill-sql's default PostgreSQL schema: one
// table for the topic, "watermill_tellyou.push.deadletter", created at the
// first dead letter. Its payload column is bytea rather than the default json:
// an event may be dead-lettered precisely because its payload is not JSON.
// Nothing consumes the table; operators read it with `tellyou deadletters`.

func deadLetterSchema() wmsql.DefaultPostgreSQLSchema {
	return wmsql.DefaultPostgreSQLSchema{GeneratePayloadType: func(string) string { return "BYTEA" }}
}

// newDeadLetterPublisher returns the durable publisher of the push hub's dead
// letters, on pool.
func newDeadLetterPublisher(pool *pgxpool.Pool, logger *slog.Logger) (message.Publisher, error) {
	pub, err := wmsql.NewPublisher(wmsql.BeginnerFromPgx(pool),
		wmsql.PublisherConfig{SchemaAdapter: deadLetterSchema(), AutoInitializeSchema: true},
		watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}))
	if err != nil {
		return nil, fmt.Errorf("dead-letter publisher: %w", err)
	}
	return pub, nil
}

// deadLetter is one line of `tellyou deadletters`.
type deadLetter struct {
	// UUID is the bus message's id: the event id, for events the follower
	// published.
	UUID string `json:"uuid"`
	// At is when the hub gave up on it.
	At time.Time `json:"at"`
	// Reason is why (the last error, from the dead-letter queue's metadata).
	Reason string `json:"reason"`
	// Payload is the message as published: the event as auditors see it, or,
	// when it is not JSON, a string.
	Payload  json.RawMessage   `json:"payload"`
	Metadata map[string]string `json:"metadata"`
}

func deadLettersCmd(ctx context.Context, cfg config, _ *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deadletters", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 100, "print at most the N latest dead letters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *limit < 1 {
		return fmt.Errorf("deadletters: --limit %d: want at least 1", *limit)
	}
	pool, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	letters, err := latestDeadLetters(ctx, pool, *limit)
	if err != nil {
		return fmt.Errorf("deadletters: %w", err)
	}
	if len(letters) == 0 {
		fmt.Fprintln(stderr, "no dead letters")
		return nil
	}
	enc := json.NewEncoder(stdout)
	for _, l := range letters {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

// latestDeadLetters returns the limit latest dead letters, oldest first.
func latestDeadLetters(ctx context.Context, pool *pgxpool.Pool, limit int) ([]deadLetter, error) {
	table := deadLetterSchema().MessagesTable(delivery.DefaultDeadLetterTopic)
	// created_at is a timestamp without time zone, written in the server's
	// zone: read it back in the same one.
	rows, err := pool.Query(ctx, `SELECT uuid, created_at AT TIME ZONE current_setting('TimeZone'), payload, metadata
		FROM (SELECT * FROM `+table+` ORDER BY transaction_id DESC, "offset" DESC LIMIT $1) latest
		ORDER BY transaction_id, "offset"`, limit)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: none yet
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var out []deadLetter
	for rows.Next() {
		var l deadLetter
		var payload, metadata []byte
		if err := rows.Scan(&l.UUID, &l.At, &payload, &metadata); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		l.Payload = payload
		if !json.Valid(payload) {
			l.Payload, _ = json.Marshal(string(payload))
		}
		if len(metadata) > 0 {
			if err := json.Unmarshal(metadata, &l.Metadata); err != nil {
				return nil, fmt.Errorf("dead letter %s: metadata: %w", l.UUID, err)
			}
		}
		l.Reason = l.Metadata[middleware.ReasonForPoisonedKey]
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return out, nil
}
