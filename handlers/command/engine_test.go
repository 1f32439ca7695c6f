package command_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/handlerstest"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/readmodels"
)

// engine wraps handlerstest.Engine with shorthands for these tests.
type engine struct {
	*handlerstest.Engine
	pool    *pgxpool.Pool
	store   *pgstore.Store
	rm      *readmodels.Queries
	cmds    *command.Commands
	queries *query.Queries
	clock   *handlerstest.Clock
	policy  domain.Policy
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	h := handlerstest.New(t, handlerstest.Options{})
	return &engine{Engine: h, pool: h.Pool, store: h.Store, rm: h.RM, cmds: h.Commands, queries: h.Queries, clock: h.Clock, policy: h.Policy}
}

func (e *engine) newNode(t *testing.T) *command.Commands { return e.NewNode(t, e.clock.Now) }

func (e *engine) caughtUp(t *testing.T) { e.CaughtUp(t) }

func as(user string) command.RequestMeta { return handlerstest.As(user) }

func (e *engine) send(t *testing.T, from, sessionID, content, clientID string) command.SendAck {
	t.Helper()
	return e.Send(t, from, sessionID, content, clientID)
}

func (e *engine) sendTo(t *testing.T, from, to, content, clientID string) command.SendAck {
	t.Helper()
	return e.SendTo(t, from, to, content, clientID)
}

func (e *engine) group(t *testing.T, owner string, members ...string) string {
	t.Helper()
	return e.Group(t, owner, members...)
}

func errorsAs(err error, target **domain.Error) bool { return errors.As(err, target) }
