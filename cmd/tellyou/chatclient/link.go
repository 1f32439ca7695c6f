package chatclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Bounds of one WebSocket connection.
const (
	// readLimit bounds a server frame: a sync answer holds up to syncLimit
	// messages of up to 32 KiB each, JSON-escaped.
	readLimit = 16 << 20
	// writeTimeout bounds writing one frame.
	writeTimeout = 10 * time.Second
	// answerTimeout bounds waiting for the answer to a frame; the server
	// answers within 10 s, with unavailable when it could not do more.
	answerTimeout = 20 * time.Second
)

// errLinkClosed is returned for a frame whose answer the connection was lost
// before.
var errLinkClosed = errors.New("connection lost before the server answered")

// link is one WebSocket connection to the server: it writes frames, matches
// answers to the frames that asked (by id), and hands everything else to
// the push handler.
type link struct {
	ws     *websocket.Conn
	closed chan struct{} // closed when the connection is done
	busy   *busyNote     // told while a frame waits out an overloaded server

	mu      sync.Mutex
	nextID  int64
	waiting map[string]chan serverFrame
}

func newLink(ws *websocket.Conn, busy *busyNote) *link {
	ws.SetReadLimit(readLimit)
	return &link{ws: ws, closed: make(chan struct{}), busy: busy, waiting: map[string]chan serverFrame{}}
}

// write sends one frame. It is written whole even when ctx ends meanwhile: a
// WebSocket write cut half way ends the connection.
func (l *link) write(ctx context.Context, frame any) error {
	data, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := l.ws.Write(wctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// request sends the frame build makes with a fresh frame id and returns the
// server's answer: sendAck, messages, ok, or error (as a frame; the caller
// turns it into a *ServerError). An overloaded answer is not returned: the
// server took nothing, so the same frame, same id, goes again after the wait
// the server asked for (see overloadDelay), as often as it takes while the
// connection lasts and ctx allows. It returns errLinkClosed when the
// connection ends first.
func (l *link) request(ctx context.Context, build func(id string) any) (serverFrame, error) {
	answer := make(chan serverFrame, 1)
	l.mu.Lock()
	l.nextID++
	id := "c" + strconv.FormatInt(l.nextID, 10)
	l.waiting[id] = answer
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.waiting, id)
		l.mu.Unlock()
	}()
	frame := build(id)
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	for {
		f, err := l.attempt(ctx, frame, answer)
		if err != nil || f.Type != "error" || f.Code != "overloaded" {
			return f, err
		}
		if release == nil {
			release = l.busy.hold()
		}
		wait := time.NewTimer(overloadDelay(f.RetryAfterMs))
		select {
		case <-wait.C:
		case <-l.closed:
			wait.Stop()
			return serverFrame{}, errLinkClosed
		case <-ctx.Done():
			wait.Stop()
			return serverFrame{}, ctx.Err()
		}
	}
}

// attempt writes frame once and waits for its answer on answer.
func (l *link) attempt(ctx context.Context, frame any, answer <-chan serverFrame) (serverFrame, error) {
	if err := l.write(ctx, frame); err != nil {
		select {
		case <-l.closed:
			return serverFrame{}, errLinkClosed
		default:
			return serverFrame{}, err
		}
	}
	timer := time.NewTimer(answerTimeout)
	defer timer.Stop()
	select {
	case f := <-answer:
		return f, nil
	case <-l.closed:
		return serverFrame{}, errLinkClosed
	case <-ctx.Done():
		return serverFrame{}, ctx.Err()
	case <-timer.C:
		return serverFrame{}, fmt.Errorf("no answer from the server within %v", answerTimeout)
	}
}

// read reads frames until the connection ends or ctx does, handing answers
// to their requests and every other frame to push, in the order they came.
// It closes the connection and returns why it ended.
func (l *link) read(ctx context.Context, push func(serverFrame)) error {
	defer close(l.closed)
	defer l.ws.CloseNow()
	for {
		_, data, err := l.ws.Read(ctx)
		if err != nil {
			return err
		}
		var f serverFrame
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("server sent a frame that is not JSON: %w", err)
		}
		if f.ID != "" {
			l.mu.Lock()
			answer := l.waiting[f.ID]
			l.mu.Unlock()
			if answer != nil {
				answer <- f
				continue
			}
		}
		push(f)
	}
}
