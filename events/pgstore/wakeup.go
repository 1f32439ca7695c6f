package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// notifyChannel is the PostgreSQL channel on which stores announce appends. The
// payload is the announcing store's id, so a store ignores its own notices (it
// has already woken its subscribers in process).
const notifyChannel = "tellyou_events"

// announce wakes local subscribers now and asks the notifier to tell other
// processes. It never blocks: requests made while one is pending coalesce.
func (s *Store) announce() {
	s.wakeups.Wake()
	select {
	case s.notifyRequests <- struct{}{}:
	default:
	}
}

// runNotifier sends one NOTIFY per batch of requests, outside any append's
// transaction: a transaction that notifies takes a global lock at commit, so
// notifying inside appends would serialise all of them.
func (s *Store) runNotifier(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.notifyRequests:
		}
		if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, s.id); err != nil && ctx.Err() == nil {
			// Other processes' subscribers fall back to polling until a later
			// notice gets through.
			s.log.Warn("event store: notify other processes of append", "err", err)
		}
	}
}

// newListener returns the LISTEN loop that wakes local subscribers when another
// process appends. first is the connection on which New has already issued
// LISTEN; once it is lost, the loop connects again on its own, and wakes all
// subscribers each time it is listening again, as notices may have been missed
// meanwhile.
func (s *Store) newListener(first *pgx.Conn) *pgxlisten.Listener {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			if c := first; c != nil {
				first = nil
				return c, nil
			}
			return pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				s.log.Warn("event store: listen for appends of other processes", "err", err)
			}
		},
		ReconnectDelay: listenReconnectDelay,
	}
	l.Handle(notifyChannel, listenHandler{
		notify: func(n *pgconn.Notification) {
			if n.Payload != s.id {
				s.wakeups.Wake()
			}
		},
		backlog: s.wakeups.Wake,
	})
	return l
}

func (s *Store) runListener(ctx context.Context, l *pgxlisten.Listener) {
	if err := l.Listen(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("event store: listener stopped", "err", fmt.Errorf("listen: %w", err))
	}
}

// listenHandler adapts two funcs to pgxlisten's Handler and BacklogHandler.
type listenHandler struct {
	notify  func(*pgconn.Notification)
	backlog func()
}

func (h listenHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	h.notify(n)
	return nil
}

func (h listenHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.backlog()
	return nil
}
