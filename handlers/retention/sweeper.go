package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/projections/lease"
	"github.com/tellyou/tellyou/readmodels"
)

// Actor is the actor recorded on the MessagesExpired events the sweeper
// appends: no user asked for them, the retention did.
const Actor = "system:retention"

// Sweeper expires messages past their retention and shreds their content
// keys. Run and SweepOnce may not be called concurrently.
type Sweeper struct {
	cfg Config
	// shreddedDay is the UTC day (days since the epoch) of the last complete
	// pass over every session with an expiry; -1 before the first.
	shreddedDay int64
}

// Sweep counts what one sweep did.
type Sweep struct {
	// Expired is the number of sessions the read models found due and the
	// expire command took (it appends nothing when another node expired
	// them first).
	Expired int
	// Shredded is the number of sessions whose content keys were shredded
	// up to their cutoff.
	Shredded int
}

// New returns a sweeper; it refuses a config that Validate refuses (after
// defaults are applied).
func New(cfg Config) (*Sweeper, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sweeper{cfg: cfg, shreddedDay: -1}, nil
}

// Run sweeps every Interval until ctx ends, holding the lease when a Pool is
// set (a standby sweeps once the holder is gone). A failed sweep is logged
// and tried again at the next interval: expiry only moves forward and
// shredding is idempotent, so nothing is lost by waiting.
func (s *Sweeper) Run(ctx context.Context) {
	if s.cfg.Pool == nil {
		s.loop(ctx)
		return
	}
	lease.Hold(ctx, lease.Config{Pool: s.cfg.Pool, Key: LeaseKey, Retry: s.cfg.Interval,
		Unavailable: func(err error) { s.cfg.Logger.Warn("retention sweeper: lease unavailable", "err", err) },
	}, s.loop)
}

func (s *Sweeper) loop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if sw, err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("retention sweep failed", "err", err, "expired", sw.Expired, "shredded", sw.Shredded)
		} else if sw.Expired > 0 || sw.Shredded > 0 {
			s.cfg.Logger.Info("retention sweep", "expired", sw.Expired, "shredded", sw.Shredded)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce expires the messages due now in every session, shredding each
// expired session's keys of the days behind its cutoff; once per UTC day
// (and on the first sweep) it also shreds, for every session that has had
// an expiry, the keys of days that have fallen behind the cutoff since,
// which no new expiry would prompt. A failure of one session does not stop
// the others; the errors are returned together.
func (s *Sweeper) SweepOnce(ctx context.Context) (Sweep, error) {
	var sw Sweep
	now := s.cfg.Now()
	var errs []error
	err := s.pages(ctx, s.cfg.Expiries.DueExpiries, now, func(e readmodels.Expiry) {
		if _, err := s.cfg.Expire.Handle(ctx, command.Expire{Meta: command.RequestMeta{Actor: Actor},
			SessionID: e.SessionID, UpToSeq: e.UpToSeq, Before: e.Before}); err != nil {
			errs = append(errs, fmt.Errorf("expire %s up to seq %d: %w", e.SessionID, e.UpToSeq, err))
			return
		}
		sw.Expired++
		if err := s.shred(ctx, e); err != nil {
			errs = append(errs, err)
			return
		}
		sw.Shredded++
	})
	if err != nil {
		errs = append(errs, err)
	}
	day := now.UTC().Unix() / 86400
	if day != s.shreddedDay && len(errs) == 0 {
		failed := false
		err := s.pages(ctx, s.cfg.Expiries.ExpiredSessions, now, func(e readmodels.Expiry) {
			if err := s.shred(ctx, e); err != nil {
				errs, failed = append(errs, err), true
				return
			}
			sw.Shredded++
		})
		if err != nil {
			errs, failed = append(errs, err), true
		}
		if !failed {
			s.shreddedDay = day
		}
	}
	return sw, errors.Join(errs...)
}

func (s *Sweeper) shred(ctx context.Context, e readmodels.Expiry) error {
	if err := s.cfg.Shredder.ShredSessionBefore(ctx, e.SessionID, time.UnixMilli(e.Before)); err != nil {
		return fmt.Errorf("shred content keys of %s before %d: %w", e.SessionID, e.Before, err)
	}
	return nil
}

// pages calls each for every session list returns, page by page in session
// id order.
func (s *Sweeper) pages(ctx context.Context, list func(context.Context, readmodels.ExpiryQuery) ([]readmodels.Expiry, error),
	now time.Time, each func(readmodels.Expiry)) error {
	after := ""
	for {
		page, err := list(ctx, readmodels.ExpiryQuery{Now: now.UnixMilli(), DefaultDays: s.cfg.DefaultDays,
			AfterSessionID: after, Limit: s.cfg.Page})
		if err != nil {
			return err
		}
		for _, e := range page {
			each(e)
		}
		if len(page) < s.cfg.Page {
			return nil
		}
		after = page[len(page)-1].SessionID
	}
}
