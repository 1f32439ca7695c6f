package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// request is one client frame being handled.
//
// Each frame gets a correlation id, "<connection id>.<n>", n counting the
// connection's frames from 1. Connection ids are 64 random bits, so the id is
// unique on the connection and, in practice, everywhere. It becomes the
// correlation id of every event the frame appends (handlers.RequestMeta; the
// frame's own id, when it has one, is the causation id) and is the
// "correlation_id" of every log line about the frame, so an event that audit
// shows leads to the log lines of the frame that caused it, and back. The
// frame's id is not used: clients choose it, and may reuse it.
type request struct {
	frame         wire.ClientFrame
	correlationID string
	arrived       time.Time
	// answer is the code of the error frame that answered the frame; empty
	// when it was served.
	answer string
	// slot is the frame's place in the connection's line of answers;
	// pipelined is set when the frame is answered from a goroutine of its
	// own (see pipeline.go).
	slot      *answerSlot
	pipelined bool
}

// newConnID returns 16 hex digits of randomness.
func newConnID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// newRequest counts a frame the reader has read and gives it its correlation
// id. Only the reader calls it.
func (c *conn) newRequest(arrived time.Time) *request {
	c.framesRead++
	return &request{correlationID: c.id + "." + strconv.FormatUint(c.framesRead, 10), arrived: arrived,
		slot: c.answers.reserve()}
}

// maxLoggedTypeLen bounds the frame type a log line repeats: a refused frame
// may carry any string there.
const maxLoggedTypeLen = 32

// logFrame writes a log line about a frame, with the frame's correlation id,
// type and id, the user and the connection.
func (c *conn) logFrame(r *request, level slog.Level, msg string, attrs ...slog.Attr) {
	logger := c.h.cfg.Logger
	ctx := context.Background()
	if !logger.Enabled(ctx, level) {
		return
	}
	typ := r.frame.Type
	if len(typ) > maxLoggedTypeLen {
		typ = typ[:maxLoggedTypeLen] + "..."
	}
	all := make([]slog.Attr, 0, 5+len(attrs))
	all = append(all, slog.String("correlation_id", r.correlationID), slog.String("type", typ),
		slog.String("id", r.frame.ID), slog.String("user", c.user.UserID), slog.String("conn_id", c.id))
	logger.LogAttrs(ctx, level, msg, append(all, attrs...)...)
}

// logHandled writes the debug line of a handled frame: its answer ("ok", or
// the error code) and how long it took.
func (c *conn) logHandled(r *request) {
	answer := r.answer
	if answer == "" {
		answer = "ok"
	}
	c.logFrame(r, slog.LevelDebug, "websocket frame handled", slog.String("answer", answer),
		slog.Duration("elapsed", time.Since(r.arrived)))
}
