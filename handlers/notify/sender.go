package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// maxErrorBody is how much of a failed answer's body is kept as its error.
const maxErrorBody = 256

// Sender POSTs the outbox's notifications to the gateway. Several senders,
// in one process or many, may share an outbox: each row is claimed by one.
type Sender struct {
	cfg    Config
	signer *standardwebhooks.Webhook
	wake   chan struct{}
}

// NewSender returns a Sender; Run starts it.
func NewSender(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	signer, err := standardwebhooks.NewWebhook(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("notify config: secret: %w", err)
	}
	return &Sender{cfg: cfg, signer: signer, wake: make(chan struct{}, 1)}, nil
}

// Wake makes Run look at the outbox now rather than at its next poll: the
// trigger calls it after it enqueued. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers notifications until ctx ends, then waits for the requests in
// flight (cancelled with ctx) and returns nil. A request cut off by the
// shutdown is tried again once its lease ends, by this or another sender;
// it counts as an attempt. Failures to reach the database are logged and
// retried after PollInterval.
func (s *Sender) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	// A place in slots is a request in flight; freed says one ended.
	slots := make(chan struct{}, s.cfg.Concurrency)
	freed := make(chan struct{}, 1)
	// The lease outlives the request and the write of its outcome.
	lease := 2*s.cfg.Timeout + 5*time.Second
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		full := false
		if free := cap(slots) - len(slots); free > 0 {
			due, err := s.cfg.Outbox.claim(ctx, free, lease)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("notify: claim due notifications", "err", err)
			}
			full = len(due) == free
			for _, p := range due {
				slots <- struct{}{}
				wg.Go(func() {
					s.deliver(ctx, p)
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				})
			}
		}
		if full {
			// More may be due: claim again once a slot frees.
			select {
			case <-ctx.Done():
				return nil
			case <-freed:
			}
			continue
		}
		timer.Reset(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-freed:
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// deliver makes one attempt and records its outcome.
func (s *Sender) deliver(ctx context.Context, p pending) {
	err := s.post(ctx, p)
	if ctx.Err() != nil {
		return // shutting down: the lease ends and the row is claimed again
	}
	// The outcome is written even if it took the whole timeout to learn.
	if err == nil {
		if err := s.cfg.Outbox.delivered(ctx, p.id); err != nil {
			s.cfg.Logger.Error("notify: delivered but not removed; it will be sent again", "webhookId", p.webhookID, "err", err)
		}
		return
	}
	if p.attempts >= s.cfg.MaxAttempts {
		s.cfg.Logger.Warn("notify: giving up", "webhookId", p.webhookID, "attempts", p.attempts, "err", err)
		if err := s.cfg.Outbox.giveUp(ctx, p.id, err.Error()); err != nil {
			s.cfg.Logger.Error("notify: give up", "webhookId", p.webhookID, "err", err)
		}
		return
	}
	wait := s.backoff(p.attempts)
	s.cfg.Logger.Info("notify: attempt failed", "webhookId", p.webhookID, "attempt", p.attempts, "retryIn", wait, "err", err)
	if err := s.cfg.Outbox.retryLater(ctx, p.id, wait, err.Error()); err != nil {
		s.cfg.Logger.Error("notify: reschedule", "webhookId", p.webhookID, "err", err)
	}
}

// backoff is the wait after the attempt-th failure: BackoffBase doubled per
// earlier failure, capped at BackoffMax, less a random part of up to half.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.BackoffBase
	for i := 1; i < attempt && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	return d - rand.N(d/2+1)
}

// post sends one signed request; nil means a 2xx answer.
func (s *Sender) post(ctx context.Context, p pending) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	now := time.Now()
	sig, err := s.signer.Sign(p.webhookID, now, p.body)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(p.body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, p.webhookID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return fmt.Errorf("gateway answered %s: %s", resp.Status, bytes.TrimSpace(msg))
}
