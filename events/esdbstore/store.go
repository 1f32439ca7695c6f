package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/tellyou/tellyou/events"
)

var _ events.Store = (*Store)(nil)

const (
	// defaultReadLimit is the limit of ReadStream and ReadAll calls that pass a
	// limit <= 0, and the batch size of Subscribe calls that pass <= 0.
	defaultReadLimit = 1000
	// allPageSize is how many $all events ReadAll and Head ask for at a time.
	allPageSize = 500
)

// Config configures a Store. The zero value is valid.
type Config struct {
	// StreamFilter is the regular expression a stream id must match to be part
	// of the global log (ReadAll, Subscribe, Head). Default `^[dg]:`.
	StreamFilter string
	// ResubscribeDelay is the pause before Subscribe subscribes again after the
	// server dropped its subscription. Default 1s.
	ResubscribeDelay time.Duration
	// Logger receives what the store recovers from on its own (a dropped
	// subscription) and, at debug level, the client's own log. Default
	// slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.StreamFilter == "" {
		c.StreamFilter = `^[dg]:`
	}
	if c.ResubscribeDelay == 0 {
		c.ResubscribeDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports whether the configuration, with defaults applied, is usable.
func (c Config) Validate() error {
	if _, err := regexp.Compile(c.StreamFilter); err != nil {
		return fmt.Errorf("stream filter: %w", err)
	}
	if c.ResubscribeDelay < 0 {
		return fmt.Errorf("resubscribe delay %s is negative", c.ResubscribeDelay)
	}
	return nil
}

// Store is the EventStoreDB event store. It is safe for concurrent use. Create
// it with New and stop it with Close.
type Store struct {
	client *esdb.Client
	cfg    Config
	log    *slog.Logger
	ours   *regexp.Regexp
}

// New connects to the EventStoreDB server of url, an esdb:// or
// esdb+discover:// connection string (e.g. esdb://127.0.0.1:2113?tls=false).
// Reading $all needs a user allowed to (admin or ops by default): put the
// credentials in the URL on a secured server. The client connects lazily: New
// fails on a malformed URL or configuration, not on an unreachable server.
func New(ctx context.Context, url string, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new event store: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("new event store: %w", err)
	}
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("new event store: parse connection string: %w", err)
	}
	conf.Logger = clientLogger(cfg.Logger)
	client, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("new event store: %w", err)
	}
	return &Store{client: client, cfg: cfg, log: cfg.Logger, ours: regexp.MustCompile(cfg.StreamFilter)}, nil
}

// Close closes the client's connections. Running subscriptions end with an
// error. Close is idempotent.
func (s *Store) Close() {
	_ = s.client.Close() // always nil
}

// clientLogger sends the client's log to logger at debug level: it reports
// as errors what the store handles (a subscription it closed itself).
func clientLogger(logger *slog.Logger) esdb.LoggingFunc {
	return func(level esdb.LogLevel, format string, args ...any) {
		// The client passes its arguments on as one slice in some places.
		if len(args) == 1 {
			if inner, ok := args[0].([]any); ok {
				args = inner
			}
		}
		logger.Debug("eventstoredb client: "+fmt.Sprintf(format, args...), "level", level)
	}
}

// errorCode returns the code of the *esdb.Error in err's chain.
func errorCode(err error) (esdb.ErrorCode, bool) {
	var esErr *esdb.Error
	if errors.As(err, &esErr) {
		return esErr.Code(), true
	}
	return 0, false
}

func isCode(err error, code esdb.ErrorCode) bool {
	c, ok := errorCode(err)
	return ok && c == code
}
