package chatclient

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// edit replaces the text of one of the user's messages in the open session:
// the one with the given id, or with "last" the latest the client has shown.
// The server's push of the edit shows it, here as on every other device.
func (c *Client) edit(ctx context.Context, which, text string) error {
	if len(text) > maxContentBytes {
		return fmt.Errorf("text too long: %d bytes, at most %d", len(text), maxContentBytes)
	}
	id, messageID, err := c.targetMessage(which, false)
	if err != nil {
		return err
	}
	return c.changeMessage(ctx, "edit", func(fid string) any {
		return editFrame{Type: "edit", ID: fid, SessionID: id, MessageID: messageID, Content: text}
	})
}

// react adds or takes back the user's reaction to a message of the open
// session: the one with the given id, or with "last" the latest message
// shown, anyone's. The server's push of the reaction shows it.
func (c *Client) react(ctx context.Context, which, emoji string, remove bool) error {
	id, messageID, err := c.targetMessage(which, true)
	if err != nil {
		return err
	}
	return c.changeMessage(ctx, "reaction", func(fid string) any {
		return reactFrame{Type: "react", ID: fid, SessionID: id, MessageID: messageID, Emoji: emoji, Remove: remove}
	})
}

// targetMessage resolves the message a command names in the open session: a
// message id, or "last": the user's latest message shown, or with anyone the
// latest message shown.
func (c *Client) targetMessage(which string, anyone bool) (sessionID, messageID string, err error) {
	id, _ := c.tl.current()
	if id == "" {
		return "", "", errNoSession
	}
	switch {
	case which == "last" && anyone:
		if messageID = c.tl.lastShown(id); messageID == "" {
			return "", "", fmt.Errorf("no message shown in [%s] yet", c.tl.Label(id))
		}
	case which == "last":
		if messageID = c.tl.lastOwn(id); messageID == "" {
			return "", "", fmt.Errorf("no message of yours shown in [%s]", c.tl.Label(id))
		}
	default:
		if _, err := uuid.Parse(which); err != nil {
			return "", "", fmt.Errorf("%q is not a message id (a UUID), nor last", which)
		}
		messageID = which
	}
	return id, messageID, nil
}

// changeMessage sends a frame that changes a message and waits for its ok.
func (c *Client) changeMessage(ctx context.Context, what string, frame func(fid string) any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.SendTimeout)
	defer cancel()
	l, err := c.waitConn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	f, err := l.request(ctx, frame)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case f.Type == "error":
		return fmt.Errorf("%s refused: %w", what, f.serverError())
	}
	return nil
}
