package chatclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// refresh reads the session list from the server.
func (c *Client) refresh(ctx context.Context) ([]Session, error) {
	list, err := c.api.sessions(ctx)
	if err != nil {
		return nil, err
	}
	c.tl.learn(list)
	return list, nil
}

// listSessions shows the user's sessions, latest activity first, with their
// unread counts; the open one is marked with *.
func (c *Client) listSessions(ctx context.Context) error {
	list, err := c.refresh(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		c.out.printf("no sessions yet: /to USER starts a chat")
		return nil
	}
	open, _ := c.tl.current()
	var b strings.Builder
	fmt.Fprintf(&b, "sessions (%d):", len(list))
	for _, s := range list {
		mark := " "
		if s.SessionID == open {
			mark = "*"
		}
		fmt.Fprintf(&b, "\n%s [%s] %s, %d unread", mark, c.tl.Label(s.SessionID), s.SessionID, s.UnreadCount)
		if s.Muted {
			b.WriteString(", muted")
		}
	}
	c.out.printf("%s", b.String())
	return nil
}

// open switches to a session named by its id, a group's title or a direct
// session's peer, and shows its latest messages.
func (c *Client) open(ctx context.Context, name string) error {
	if _, err := c.refresh(ctx); err != nil {
		return err
	}
	id, matches := c.tl.find(name)
	switch {
	case matches > 1:
		return fmt.Errorf("%q names %d sessions: open one by its id (/sessions lists them)", name, matches)
	case matches == 0 && (strings.HasPrefix(name, "d:") || strings.HasPrefix(name, "g:")):
		id = name // not listed yet, or not the user's: the server says which
	case matches == 0:
		return fmt.Errorf("no session %q: /sessions lists yours, /to USER starts a chat", name)
	}
	return c.openSession(ctx, id, "")
}

// openSession fetches a session's latest page, and only then makes it the
// open session and shows the page; the read ack follows.
func (c *Client) openSession(ctx context.Context, id, peer string) error {
	p, err := c.api.latest(ctx, id, c.cfg.PageSize)
	if err != nil {
		return err
	}
	c.tl.setOpen(id, peer)
	label := c.tl.Label(id)
	header := fmt.Sprintf("--- [%s] %s: latest %d messages ---", label, id, len(p.Messages))
	if len(p.Messages) == 0 {
		header = fmt.Sprintf("--- [%s] %s: no messages yet ---", label, id)
	}
	c.tl.showPage(id, header, p.Messages)
	c.deliver(nil) // wakes the acker: the open session is read
	return nil
}

// to switches to the direct session with a user; it comes into being with
// the first message sent.
func (c *Client) to(ctx context.Context, user string) error {
	if !validUserID(user) {
		return fmt.Errorf("%q is not a user id: 1-64 characters of A-Z a-z 0-9 . _ -", user)
	}
	if user == c.cfg.User {
		return errors.New("you cannot chat with yourself: name another user")
	}
	id := directID(c.cfg.User, user)
	err := c.openSession(ctx, id, user)
	var refused *ServerError
	if errors.As(err, &refused) && refused.Code == "not_found" {
		c.tl.setOpen(id, user)
		c.out.printf("--- [%s] %s: new chat; your first message starts it ---", user, id)
		return nil
	}
	return err
}

// group creates a group owned by the user and switches to it.
func (c *Client) group(ctx context.Context, title string, members []string) error {
	s, err := c.api.createGroup(ctx, title, members)
	if err != nil {
		return err
	}
	c.tl.learn([]Session{s})
	c.tl.setOpen(s.SessionID, "")
	c.out.printf("--- [%s] %s: group created with %s ---", c.tl.Label(s.SessionID), s.SessionID, strings.Join(s.Members, ", "))
	return nil
}

// history shows the page of the open session just older than what /open
// and /history have shown.
func (c *Client) history(ctx context.Context) error {
	id, _ := c.tl.current()
	if id == "" {
		return errNoSession
	}
	label := c.tl.Label(id)
	before := c.tl.oldestShown(id)
	if before == 0 {
		before = c.tl.held(id) + 1
	}
	if before <= 1 {
		c.out.printf("--- [%s] no older messages ---", label)
		return nil
	}
	p, err := c.api.before(ctx, id, before, c.cfg.PageSize)
	if err != nil {
		return err
	}
	if len(p.Messages) == 0 {
		c.out.printf("--- [%s] no older messages ---", label)
		return nil
	}
	c.tl.showPage(id, fmt.Sprintf("--- [%s] %d older messages ---", label, len(p.Messages)), p.Messages)
	return nil
}

// recall withdraws one of the user's messages in the open session: the one
// with the given id, or with "last" the latest the client has shown.
func (c *Client) recall(ctx context.Context, which string) error {
	id, _ := c.tl.current()
	if id == "" {
		return errNoSession
	}
	messageID := which
	if which == "last" {
		if messageID = c.tl.lastOwn(id); messageID == "" {
			return fmt.Errorf("no message of yours shown in [%s] to recall", c.tl.Label(id))
		}
	} else if _, err := uuid.Parse(which); err != nil {
		return fmt.Errorf("%q is not a message id (a UUID), nor last", which)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.SendTimeout)
	defer cancel()
	l, err := c.waitConn(ctx)
	if err != nil {
		return fmt.Errorf("recall: %w", err)
	}
	f, err := l.request(ctx, func(fid string) any {
		return recallFrame{Type: "recall", ID: fid, SessionID: id, MessageID: messageID}
	})
	switch {
	case err != nil:
		return fmt.Errorf("recall: %w", err)
	case f.Type == "error":
		return fmt.Errorf("recall refused: %w", f.serverError())
	}
	c.tl.recalled(id, messageID, c.cfg.User)
	return nil
}

// mute stops (or, with muted false, resumes) offline notifications of the
// open session for the user.
func (c *Client) mute(ctx context.Context, muted bool) error {
	id, _ := c.tl.current()
	if id == "" {
		return errNoSession
	}
	if err := c.api.setMuted(ctx, id, muted); err != nil {
		return err
	}
	if muted {
		c.out.printf("[%s] muted: no offline notifications (/unmute resumes them)", c.tl.Label(id))
	} else {
		c.out.printf("[%s] unmuted: offline notifications resume", c.tl.Label(id))
	}
	return nil
}
