package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// feedWriteTimeout bounds one write to a feed's client: a client that stops
// reading is dropped instead of holding a subscription forever. It also lifts
// any write timeout of the server, which would otherwise cut every feed.
const feedWriteTimeout = 30 * time.Second

// feed answers GET /v1/feed (auditors only) with Server-Sent Events: every
// event of the global log after position `after` (default 0, the beginning),
// or after the Last-Event-ID header when a reconnecting client sends one
// (it wins over `after`), in global order. Each event is
//
//	id: <globalPosition>
//	data: <the event as the audit endpoint shows it, one line of JSON>
//
// followed by a blank line. A comment line (": keep-alive") comes every
// FeedKeepAlive. Output is flushed after each batch of events. The feed ends
// when the client goes away, a write to it stalls for feedWriteTimeout, or
// CloseFeeds is called.
func (a *API) feed(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsAuditor() {
		return &domain.Error{Kind: domain.KindForbidden, Reason: "only auditors read the event feed"}
	}
	after, err := feedStart(r)
	if err != nil {
		return err
	}
	select {
	case <-a.closing:
		return &wire.Error{Code: wire.CodeUnavailable, Message: "the server is shutting down; reconnect to another node or later"}
	default:
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := &feedWriter{w: w, rc: http.NewResponseController(w)}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell proxies such as nginx not to buffer
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if err := out.flush(); err != nil {
		a.feedEnded(r, after, err)
		return nil
	}

	batches, done := a.subscribe(ctx, after)
	defer func() { cancel(); <-done }()

	keepAlive := time.NewTicker(a.cfg.FeedKeepAlive)
	defer keepAlive.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-a.closing:
			return nil
		case <-done:
			return nil // the subscription failed, logged above; the client reconnects
		case batch := <-batches:
			err = out.events(batch)
			if err == nil {
				after = int64(batch[len(batch)-1].Position)
			}
			keepAlive.Reset(a.cfg.FeedKeepAlive)
		case <-keepAlive.C:
			err = out.comment("keep-alive")
		}
		if err != nil {
			a.feedEnded(r, after, err)
			return nil
		}
	}
}

// subscribe follows the global log after position start in a goroutine and
// hands its batches over one at a time, so a slow client slows the
// subscription instead of piling up events. done is closed when the goroutine
// has ended: after ctx ends, or when the subscription fails (logged).
func (a *API) subscribe(ctx context.Context, start int64) (batches <-chan []events.RecordedEvent, done <-chan struct{}) {
	out := make(chan []events.RecordedEvent)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err := a.cfg.Store.Subscribe(ctx, events.Position(start), a.cfg.FeedBatch,
			func(ctx context.Context, batch []events.RecordedEvent) error {
				select {
				case out <- batch:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		if err != nil && ctx.Err() == nil {
			a.scopeOf(ctx).log.Error("event feed subscription failed", "after", start, "err", err)
		}
	}()
	return out, finished
}

// feedStart returns the position the feed starts after: the Last-Event-ID
// header when it is set, else the after parameter, else 0.
func feedStart(r *http.Request) (int64, error) {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return parsePosition("Last-Event-ID", id)
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, err
	}
	if vals, ok := q.values["after"]; ok {
		return parsePosition("after", vals[0])
	}
	return 0, nil
}

// feedEnded logs why a feed stopped writing. A client that went away is the
// normal end of a feed and is not logged.
func (a *API) feedEnded(r *http.Request, after int64, err error) {
	if r.Context().Err() != nil {
		return
	}
	a.logOf(r).Info("event feed ended", "after", after, "err", err)
}

// feedWriter writes Server-Sent Events to one client.
type feedWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
}

// events writes one SSE event per recorded event and flushes them.
func (f *feedWriter) events(batch []events.RecordedEvent) error {
	f.buf = f.buf[:0]
	for _, rec := range batch {
		data, err := eventview.Marshal(rec)
		if err != nil {
			return fmt.Errorf("render event at position %d: %w", rec.Position, err)
		}
		f.buf = append(f.buf, "id: "...)
		f.buf = strconv.AppendInt(f.buf, int64(rec.Position), 10)
		f.buf = append(f.buf, "\ndata: "...)
		f.buf = append(f.buf, data...) // compact JSON: no line breaks
		f.buf = append(f.buf, "\n\n"...)
	}
	return f.write()
}

// comment writes an SSE comment line, which clients ignore.
func (f *feedWriter) comment(text string) error {
	f.buf = append(append(append(f.buf[:0], ": "...), text...), "\n\n"...)
	return f.write()
}

func (f *feedWriter) write() error {
	if err := f.rc.SetWriteDeadline(time.Now().Add(feedWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("set feed write deadline: %w", err)
	}
	if _, err := f.w.Write(f.buf); err != nil {
		return fmt.Errorf("write feed: %w", err)
	}
	return f.flush()
}

func (f *feedWriter) flush() error {
	if err := f.rc.Flush(); err != nil {
		return fmt.Errorf("flush feed: %w", err)
	}
	return nil
}
