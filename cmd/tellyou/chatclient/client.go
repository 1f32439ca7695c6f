// Package chatclient is a line-oriented chat client for TellYou, behind
// `tellyou chat`: it reads text and commands from an io.Reader and writes the
// conversation to an io.Writer, so a terminal or a test drives it alike.
//
// It keeps one WebSocket connection to the server (reconnecting with backoff
// when it drops), lists the user's sessions over HTTP, syncs every session
// from the highest seq it has shown, shows pushed messages, recalls and
// receipts, and acks what it showed: read for the open session, received for
// the others. Messages are keyed by (session, seq), so a message is shown
// once whether it came by push, sync or history, and a reconnection shows
// only what was missed. What it has shown is kept in memory only: a new client
// starts after each session's read watermark.
package chatclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// maxLineBytes bounds one input line; longer lines are refused whole.
const maxLineBytes = 1 << 20

// Client is one user's chat. Run it once.
type Client struct {
	cfg  Config
	api  *api
	out  *printer
	busy *busyNote
	tl   *timeline
	wake chan struct{} // tells the acker that something was shown
	// syncRequests carries sessions to sync to the current connection.
	syncRequests chan string

	mu          sync.Mutex
	conn        *link         // the current connection, nil while there is none
	connChanged chan struct{} // closed and replaced when conn changes
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.User == "" && cfg.Token != "" {
		user, err := UserFromToken(cfg.Token)
		if err != nil {
			return nil, err
		}
		cfg.User = user
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("chat client: %w", err)
	}
	out := &printer{w: cfg.Out}
	busy := &busyNote{out: out, after: busyNoteAfter}
	return &Client{
		cfg:          cfg,
		api:          &api{base: cfg.ServerURL, token: cfg.Token, client: cfg.HTTPClient, busy: busy},
		out:          out,
		busy:         busy,
		tl:           newTimeline(cfg.User, cfg.Backlog, out),
		wake:         make(chan struct{}, 1),
		syncRequests: make(chan string, 64),
		connChanged:  make(chan struct{}),
	}, nil
}

// Run chats until the input ends, /quit, or ctx ends; each of those returns
// nil. It returns an error when the server refuses the token or the input
// cannot be read. The goroutine reading the input ends with the input: Run
// does not wait for it when it returns for another reason.
func (c *Client) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	fatal := make(chan error, 1)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		c.busy.stop()
	}()
	wg.Go(func() {
		if err := c.stayConnected(ctx); err != nil {
			fatal <- err
		}
	})
	lines := make(chan inputLine)
	go readLines(c.cfg.In, lines, ctx.Done())
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-fatal:
			return err
		case l, ok := <-lines:
			switch {
			case !ok:
				c.settle(ctx)
				return nil
			case l.err != nil:
				return fmt.Errorf("read input: %w", l.err)
			case l.tooLong:
				c.out.errorf("line too long: at most %d bytes", maxLineBytes)
			case c.execute(ctx, l.text) == errQuit:
				return nil
			}
		}
	}
}

// settleTimeout bounds how long the end of the input waits for messages
// that wait behind a gap to be shown.
const settleTimeout = 5 * time.Second

// settle waits, at most settleTimeout, until no message waits behind a gap:
// at the end of the input (a script piped in) the user's own last message,
// acked ahead of messages not shown yet, is still to be shown once the sync
// running for the gap answers.
func (c *Client) settle(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	for c.tl.waiting() {
		if !sleep(ctx, 20*time.Millisecond) {
			c.out.errorf("messages not shown: the messages before them did not arrive within %v", settleTimeout)
			return
		}
	}
}

// inputLine is one line of input, without its line break.
type inputLine struct {
	text    string
	tooLong bool
	err     error
}

// readLines sends the lines of r until its end (then it closes lines) or
// until done is closed.
func readLines(r io.Reader, lines chan<- inputLine, done <-chan struct{}) {
	br := bufio.NewReader(r)
	for {
		l := readLine(br)
		if errors.Is(l.err, io.EOF) {
			if l.text == "" && !l.tooLong {
				close(lines)
				return
			}
			l.err = nil
		}
		select {
		case lines <- l:
		case <-done:
			return
		}
	}
}

// readLine reads up to the next line break; a line past maxLineBytes is
// read to its end and returned marked tooLong.
func readLine(br *bufio.Reader) inputLine {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			buf = append(buf, chunk...)
			if len(buf) > maxLineBytes {
				tooLong, buf = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		text := string(buf)
		text = trimLineBreak(text)
		if tooLong {
			return inputLine{tooLong: true, err: err}
		}
		return inputLine{text: text, err: err}
	}
}

func trimLineBreak(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	if n := len(s); n > 0 && s[n-1] == '\r' {
		s = s[:n-1]
	}
	return s
}
