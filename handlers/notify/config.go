package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxAttempts  = 8
	DefaultBackoffBase  = 5 * time.Second
	DefaultBackoffMax   = time.Hour
	DefaultConcurrency  = 8
	DefaultPollInterval = time.Second
)

// Config configures a Sender.
type Config struct {
	// Outbox holds the notifications. Required.
	Outbox *Outbox
	// URL is where notifications are POSTed (TELLYOU_NOTIFY_URL): http or
	// https. Required.
	URL string
	// Secret signs the requests (TELLYOU_NOTIFY_SECRET): "whsec_" and the
	// base64 of the key, as Standard Webhooks libraries take it. Required.
	Secret string
	// Timeout bounds one request, answer included (default DefaultTimeout).
	// A request past it is a failed attempt.
	Timeout time.Duration
	// MaxAttempts is how many attempts a notification gets before it moves
	// to the dead letters (default DefaultMaxAttempts).
	MaxAttempts int
	// BackoffBase is the wait after the first failure; each further failure
	// doubles it, up to BackoffMax (defaults DefaultBackoffBase,
	// DefaultBackoffMax). The wait is jittered down by up to half, so
	// notifications failed together do not return together.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Concurrency is how many requests may be in flight at once (default
	// DefaultConcurrency): a slow gateway holds only its own requests.
	Concurrency int
	// PollInterval is how often the outbox is looked at when there is no
	// work (default DefaultPollInterval); the delay of a new notification.
	PollInterval time.Duration
	// Client sends the requests (default a client without a timeout of its
	// own; Timeout applies per request).
	Client *http.Client
	// Logger receives failed attempts (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffBase)
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a missing dependency, a URL that is not http(s) or a
// secret the signer cannot use.
func (c Config) Validate() error {
	var errs []error
	if c.Outbox == nil {
		errs = append(errs, errors.New("nil Outbox"))
	}
	if u, err := url.Parse(c.URL); c.URL == "" {
		errs = append(errs, errors.New("empty URL (TELLYOU_NOTIFY_URL)"))
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("URL %q is not an http(s) URL", c.URL))
	}
	if !strings.HasPrefix(c.Secret, "whsec_") {
		errs = append(errs, errors.New(`secret (TELLYOU_NOTIFY_SECRET) must be "whsec_" followed by the base64 of the key`))
	} else if _, err := standardwebhooks.NewWebhook(c.Secret); err != nil {
		errs = append(errs, fmt.Errorf("secret (TELLYOU_NOTIFY_SECRET): %w", err))
	}
	if c.Timeout < 0 || c.BackoffBase < 0 || c.BackoffMax < 0 || c.PollInterval < 0 {
		errs = append(errs, errors.New("negative duration"))
	}
	if c.MaxAttempts < 0 || c.Concurrency < 0 {
		errs = append(errs, errors.New("negative MaxAttempts or Concurrency"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify config: %w", err)
	}
	return nil
}
