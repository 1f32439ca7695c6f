package chatclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Timing of the catch-up after a connection opens.
const (
	// secondCatchUpAfter is when the client lists and syncs once more after
	// connecting: the read models trail the log by the projection lag, so a
	// message pushed to the previous connection just before it dropped may
	// be missing from the first sync.
	secondCatchUpAfter = time.Second
	// gapRetries bounds the syncs for one gap before the client waits for
	// the next push or reconnection.
	gapRetries = 5
	// syncLimit is the page size of sync frames.
	syncLimit = 100
)

// stayConnected keeps a connection to the server until ctx ends, and
// reconnects with backoff when it drops. It returns an error only when the
// server refuses the token: trying again cannot help.
func (c *Client) stayConnected(ctx context.Context) error {
	delay := c.cfg.ReconnectMin
	connectedBefore := false
	for {
		l, err := c.connect(ctx)
		if err == nil {
			delay = c.cfg.ReconnectMin
			if connectedBefore {
				c.out.printf("reconnected")
			} else {
				c.out.printf("connected to %s as %s (/help lists the commands)", c.cfg.ServerURL, c.cfg.User)
			}
			connectedBefore = true
			err = c.serve(ctx, l)
		}
		if ctx.Err() != nil {
			return nil
		}
		var refused *ServerError
		if errors.As(err, &refused) && refused.Code == "unauthorized" {
			return fmt.Errorf("the server refused the token: %w", refused)
		}
		if connectedBefore {
			c.out.printf("connection lost (%v); reconnecting in %v", err, delay.Round(time.Millisecond))
		} else {
			c.out.printf("cannot connect (%v); retrying in %v", err, delay.Round(time.Millisecond))
		}
		if !sleep(ctx, delay) {
			return nil
		}
		// Up to a quarter more, so that many clients dropped at once do not
		// come back in step.
		delay = min(2*delay+rand.N(delay/4+1), c.cfg.ReconnectMax)
	}
}

// connect lists the sessions (so that sessions new to the client start at
// the user's read watermark) and opens the WebSocket.
func (c *Client) connect(ctx context.Context) (*link, error) {
	list, err := c.api.sessions(ctx)
	if err != nil {
		return nil, err
	}
	c.tl.learn(list)
	dialCtx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(dialCtx, c.cfg.websocketURL(), &websocket.DialOptions{
		HTTPClient: c.cfg.HTTPClient,
		HTTPHeader: http.Header{"Authorization": []string{"Bearer " + c.cfg.Token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return nil, fmt.Errorf("open WebSocket: %w", answerError(resp.Status, body))
		}
		return nil, fmt.Errorf("open WebSocket: %w", err)
	}
	return newLink(ws, c.busy), nil
}

// serve runs one connection: it reads frames, acks what was shown and
// catches up with what was missed, until the connection ends.
func (c *Client) serve(ctx context.Context, l *link) error {
	connCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		c.setConn(nil)
	}()
	c.setConn(l)
	wg.Go(func() { c.ackLoop(connCtx, l) })
	wg.Go(func() {
		for {
			select {
			case id := <-c.syncRequests:
				c.syncSession(connCtx, l, id)
			case <-connCtx.Done():
				return
			}
		}
	})
	wg.Go(func() {
		c.catchUp(connCtx, l)
		if sleep(connCtx, secondCatchUpAfter) {
			c.catchUp(connCtx, l)
		}
	})
	return l.read(connCtx, func(f serverFrame) {
		for _, id := range c.onPush(connCtx, f) {
			wg.Go(func() { c.syncSession(connCtx, l, id) })
		}
	})
}

// catchUp lists the sessions and syncs each that has messages the user has
// not been shown.
func (c *Client) catchUp(ctx context.Context, l *link) {
	list, err := c.api.sessions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.out.errorf("%v", err)
		}
		return
	}
	c.tl.learn(list)
	for _, id := range c.tl.behind() {
		if c.tl.claimSync(id) {
			c.syncSession(ctx, l, id)
		}
	}
}

// syncSession pages through what follows the highest seq shown of a session,
// and again while a gap remains, a few times. The caller has claimed the
// session's sync; syncSession releases it.
func (c *Client) syncSession(ctx context.Context, l *link, id string) {
	defer c.tl.releaseSync(id)
	for attempt := 1; attempt <= gapRetries; attempt++ {
		for {
			after := c.tl.held(id)
			f, err := l.request(ctx, func(fid string) any {
				return syncFrame{Type: "sync", ID: fid, SessionID: id, AfterSeq: after, Limit: syncLimit}
			})
			if err != nil {
				return // the connection ended; the next one syncs again
			}
			if f.Type == "error" {
				c.out.errorf("sync %s: %v", c.tl.Label(id), f.serverError())
				return
			}
			c.deliver(f.Messages)
			if !f.HasMore || len(f.Messages) == 0 {
				break
			}
		}
		if !c.tl.syncDone(id) {
			return
		}
		// A message waits behind a gap the read model has not filled yet.
		if !sleep(ctx, time.Duration(attempt)*200*time.Millisecond) {
			return
		}
	}
}

// deliver shows messages and wakes the acker; gaps it finds are synced by
// the caller's connection.
func (c *Client) deliver(msgs []Message) []string {
	gaps := c.tl.deliver(msgs)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return gaps
}

// requestSyncs hands sessions with gaps found outside a connection's reader
// (a sendAck ahead of a push) to the connection; the claim on a session that
// does not fit is released, and the next push or reconnection syncs it.
func (c *Client) requestSyncs(ids []string) {
	for _, id := range ids {
		select {
		case c.syncRequests <- id:
		default:
			c.tl.releaseSync(id)
		}
	}
}

// onPush shows a frame the server sent without being asked, and returns the
// sessions whose gaps need a sync.
func (c *Client) onPush(ctx context.Context, f serverFrame) []string {
	switch f.Type {
	case "message":
		var m Message
		if err := jsonObject(f.Message, &m); err != nil {
			c.out.errorf("server pushed a message that cannot be read: %v", err)
			return nil
		}
		if directPeer(m.SessionID, c.cfg.User) == "" && !c.tl.known(m.SessionID) {
			c.learnGroup(ctx, m.SessionID)
		}
		return c.deliver([]Message{m})
	case "recalled":
		c.tl.recalled(f.SessionID, f.MessageID, f.By)
	case "receipt":
		c.tl.receipt(f.SessionID, f.UserID, f.AckType, f.Seq)
	case "edited":
		c.tl.edited(f.SessionID, f.Seq, f.Content)
	case "reaction":
		c.tl.reaction(f.SessionID, f.UserID, f.Emoji, f.Seq, f.Removed)
	case "error":
		c.out.errorf("%v", f.serverError())
	}
	// typing, and answers that came after their request gave up, are not shown.
	return nil
}

// learnGroup reads the session list until it holds a group new to the
// client, whose title is shown with its messages. The list trails the push
// by the projection lag; after a few tries the group is shown by its id.
func (c *Client) learnGroup(ctx context.Context, id string) {
	for try := 1; try <= 5; try++ {
		if list, err := c.api.sessions(ctx); err == nil {
			c.tl.learn(list)
		}
		if c.tl.known(id) || !sleep(ctx, time.Duration(try)*50*time.Millisecond) {
			return
		}
	}
}

// ackLoop acks what was shown, whenever something was, until ctx ends or
// the connection does. An ack without an answer is not recorded: the next
// round, or the next connection, sends it again (acks are cumulative, so
// sending one twice changes nothing).
func (c *Client) ackLoop(ctx context.Context, l *link) {
	for {
		for _, a := range c.tl.acksDue() {
			f, err := l.request(ctx, func(id string) any { a.ID = id; return a })
			if errors.Is(err, errLinkClosed) || ctx.Err() != nil {
				return
			}
			if err != nil {
				continue
			}
			if f.Type == "error" {
				c.out.errorf("ack %s: %v", c.tl.Label(a.SessionID), f.serverError())
			}
			c.tl.acked(a)
		}
		select {
		case <-c.wake:
		case <-ctx.Done():
			return
		}
	}
}

// setConn records the current connection and wakes those waiting for one.
func (c *Client) setConn(l *link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = l
	close(c.connChanged)
	c.connChanged = make(chan struct{})
}

// waitConn returns the current connection, waiting for one until ctx ends.
func (c *Client) waitConn(ctx context.Context) (*link, error) {
	for {
		c.mu.Lock()
		l, changed := c.conn, c.connChanged
		c.mu.Unlock()
		if l != nil {
			select {
			case <-l.closed:
			default:
				return l, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, errors.New("not connected to the server; still trying")
		}
	}
}

// sleep waits for d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
