package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/readmodels"
)

// findInHistory looks a message of the session up in the history read model,
// for a decision on a message older than the session state keeps. It returns
// nil when the session has no such message. It must not be called under the
// session's lock: it waits for the database.
func findInHistory(ctx context.Context, history MessageLookup, sessionID, messageID string) (*domain.HistoryMessage, error) {
	m, err := history.MessageByID(ctx, sessionID, messageID)
	switch {
	case errors.Is(err, readmodels.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up message %s of %s: %w", messageID, sessionID, err)
	}
	return &domain.HistoryMessage{MessageID: messageID, Seq: m.Seq, SenderID: m.SenderID,
		ServerTimestamp: m.ServerTimestamp, Recalled: m.Recalled}, nil
}

// decideOnMessage runs decide on the session state alone (found nil) and, when
// the state does not hold the message (domain.ErrUnknownMessage), looks it up
// in the history outside the session's lock and runs decide again with it.
// A message the history does not hold either keeps the first error.
func decideOnMessage(ctx context.Context, history MessageLookup, sessionID, messageID string, decide func(found *domain.HistoryMessage) error) error {
	if _, err := domain.SessionKind(sessionID); err != nil {
		return err
	}
	err := decide(nil)
	if !errors.Is(err, domain.ErrUnknownMessage) {
		return err
	}
	found, lookupErr := findInHistory(ctx, history, sessionID, messageID)
	switch {
	case lookupErr != nil:
		return lookupErr
	case found == nil:
		return err
	}
	return decide(found)
}
