package handlers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/handlers"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/readmodels"
)

// engine wraps handlerstest.Engine with shorthands for these tests.
type engine struct {
	*handlerstest.Engine
	pool    *pgxpool.Pool
	store   *pgstore.Store
	rm      *readmodels.Queries
	cmds    *handlers.Commands
	queries *handlers.Queries
	clock   *handlerstest.Clock
	policy  domain.Policy
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	h := handlerstest.New(t, handlerstest.Options{})
	return &engine{Engine: h, pool: h.Pool, store: h.Store, rm: h.RM, cmds: h.Commands, queries: h.Queries, clock: h.Clock, policy: h.Policy}
}

func (e *engine) newNode(t *testing.T) *handlers.Commands { return e.NewNode(t, e.clock.Now) }

func (e *engine) caughtUp(t *testing.T) { e.CaughtUp(t) }

func as(user string) handlers.RequestMeta { return handlers.RequestMeta{Actor: user} }

func (e *engine) send(t *testing.T, from, sessionID, content, clientID string) handlers.SendAck {
	t.Helper()
	ack, err := e.cmds.Send.Handle(context.Background(), handlers.Send{
		Meta: as(from), SessionID: sessionID, MessageType: 1, Content: content, ClientMessageID: clientID,
		ClientTimestamp: e.clock.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("%s sends %q to %s: %v", from, content, sessionID, err)
	}
	return ack
}

func (e *engine) sendTo(t *testing.T, from, to, content, clientID string) handlers.SendAck {
	t.Helper()
	ack, err := e.cmds.Send.Handle(context.Background(), handlers.Send{
		Meta: as(from), ToUserID: to, MessageType: 1, Content: content, ClientMessageID: clientID,
		ClientTimestamp: e.clock.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("%s sends %q to %s: %v", from, content, to, err)
	}
	return ack
}

func (e *engine) group(t *testing.T, owner string, members ...string) string {
	t.Helper()
	s, err := e.cmds.CreateGroup.Handle(context.Background(), handlers.CreateGroup{Meta: as(owner), Title: "team", Members: members})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return s.ID
}

func errorsAs(err error, target **domain.Error) bool { return errors.As(err, target) }
