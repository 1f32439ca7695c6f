package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/readmodels"
)

// Defaults of Config.
const (
	// DefaultMaxBodyBytes bounds a request body (64 KiB).
	DefaultMaxBodyBytes = 64 << 10
	// DefaultFeedKeepAlive is the interval of the feed's keep-alive comments.
	DefaultFeedKeepAlive = 15 * time.Second
	// DefaultFeedBatch is how many events the feed reads from the log at once.
	DefaultFeedBatch = 500
	// DefaultRequestTimeout bounds the handling of one request (10 s, as
	// long as the WebSocket gateway allows one frame).
	DefaultRequestTimeout = 10 * time.Second
)

// FeedLog is what the feed needs of the event log.
type FeedLog interface {
	Subscribe(ctx context.Context, after events.Position, batchSize int, handle func(ctx context.Context, batch []events.RecordedEvent) error) error
}

var _ FeedLog = events.Store(nil)

// Config holds the API's dependencies and settings.
type Config struct {
	// Commands and Queries serve the requests.
	Commands *command.Commands
	Queries  *query.Queries
	// Presence answers GET /v1/presence and the members' online flags;
	// nil: presence is not tracked (members are shown offline, and
	// GET /v1/presence answers unavailable).
	Presence Presence
	// Store is the event log the feed subscribes to: the process's tail of
	// the log (events/tail) or the store itself.
	Store FeedLog
	// Secret verifies the clients' tokens (HS256, at least
	// auth.MinSecretBytes bytes).
	Secret []byte
	// Metrics receives the request counts; /metrics serves its registry.
	Metrics *metrics.Metrics
	// Ready answers /readyz: nil means ready, an error says why not (its text
	// becomes the answer's reason, which anyone may read). It is called with a
	// 1 s deadline in its context, which it should respect: /readyz answers
	// not ready at the deadline whether Ready has returned or not.
	Ready func(ctx context.Context) error
	// Logger receives handler failures and panics (default: discarded).
	Logger *slog.Logger
	// Now is the clock tokens are checked against (default time.Now).
	Now func() time.Time
	// MaxBodyBytes bounds request bodies; larger ones are refused with
	// too_large (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// FeedKeepAlive is how often an idle feed sends a comment line, so that
	// proxies and clients see the stream alive (default DefaultFeedKeepAlive).
	FeedKeepAlive time.Duration
	// FeedBatch is the most events the feed reads from the log and writes
	// between two flushes (default DefaultFeedBatch).
	FeedBatch int
	// RequestTimeout bounds the handling of a request to the /v1 routes,
	// the feed aside (default DefaultRequestTimeout): their context ends
	// then, so a database that does not answer has the request answered
	// 503 unavailable. The feed streams for as long as its client reads;
	// /readyz and /metrics have deadlines of their own.
	RequestTimeout time.Duration
	// ExportPage is the most sessions, and the most messages, the export
	// reads from the read models and writes between two flushes (default
	// readmodels.DefaultExportPage, at most readmodels.MaxExportPage).
	ExportPage int
	// Opener opens sealed content for the audit endpoint, which shows each
	// event as stored plus the outcome of opening it (nil: as stored only).
	// The feed never opens content.
	Opener eventview.Opener
	// Erase serves DELETE /v1/users/{id}; nil: the route answers
	// unavailable.
	Erase Eraser
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.FeedKeepAlive == 0 {
		c.FeedKeepAlive = DefaultFeedKeepAlive
	}
	if c.FeedBatch == 0 {
		c.FeedBatch = DefaultFeedBatch
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ExportPage == 0 {
		c.ExportPage = readmodels.DefaultExportPage
	}
}

// Validate reports missing dependencies and bad settings.
func (c Config) Validate() error {
	var errs []error
	if c.Commands == nil {
		errs = append(errs, errors.New("nil Commands"))
	}
	if c.Queries == nil {
		errs = append(errs, errors.New("nil Queries"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("nil Store"))
	}
	if c.Metrics == nil {
		errs = append(errs, errors.New("nil Metrics"))
	}
	if c.Ready == nil {
		errs = append(errs, errors.New("nil Ready"))
	}
	if len(c.Secret) < auth.MinSecretBytes {
		errs = append(errs, fmt.Errorf("secret shorter than %d bytes", auth.MinSecretBytes))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("negative MaxBodyBytes %d", c.MaxBodyBytes))
	}
	if c.FeedKeepAlive < 0 {
		errs = append(errs, fmt.Errorf("negative FeedKeepAlive %v", c.FeedKeepAlive))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("negative RequestTimeout %v", c.RequestTimeout))
	}
	if c.ExportPage < 0 || c.ExportPage > readmodels.MaxExportPage {
		errs = append(errs, fmt.Errorf("ExportPage %d out of 1..%d", c.ExportPage, readmodels.MaxExportPage))
	}
	if c.FeedBatch < 0 {
		errs = append(errs, fmt.Errorf("negative FeedBatch %d", c.FeedBatch))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("httpapi config: %w", err)
	}
	return nil
}
