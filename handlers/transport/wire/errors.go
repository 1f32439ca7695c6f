// Package wire holds TellYou's wire contract (PROTOCOL.md): the WebSocket frames,
// their strict decoding, and the one place where errors become wire codes and
// HTTP statuses.
package wire

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
)

// Error codes of PROTOCOL.md.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeConflict     = "conflict"
	CodeUnavailable  = "unavailable"
	CodeOverloaded   = "overloaded"
	CodeInternal     = "internal"
)

// Error is a refusal as the client sees it: a code from the list above and a
// human message. Temporary errors (unavailable, overloaded, rate_limited,
// conflict) may be retried as they are.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterMs, set with overloaded, is how long the client should wait
	// before it sends the refused frame or request again, in milliseconds.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

// Overloaded makes the refusal of work the server did not admit: nothing was
// stored, and the same frame or request may be sent again after retryAfter.
func Overloaded(retryAfter time.Duration) *Error {
	ms := max(retryAfter.Milliseconds(), 1)
	return &Error{Code: CodeOverloaded, Message: "the server is overloaded: nothing was stored; retry after retryAfterMs", RetryAfterMs: ms}
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Temporary reports whether the same request may succeed if retried unchanged.
func (e *Error) Temporary() bool {
	return e.Code == CodeUnavailable || e.Code == CodeOverloaded || e.Code == CodeRateLimited || e.Code == CodeConflict
}

// HTTPStatus is the status an HTTP answer with this error carries.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeConflict:
		return http.StatusConflict
	case CodeUnavailable, CodeOverloaded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// BadRequest makes a bad_request error.
func BadRequest(msg string) *Error { return &Error{Code: CodeBadRequest, Message: msg} }

// FromError maps any error of the handlers to its wire form: domain refusals to
// their codes, work the node did not admit to overloaded with its retry hint, lost or refused database connections and deadlines to
// unavailable (the client may retry; nothing was acked), everything else to
// internal, whose message hides the details.
func FromError(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	var oe *command.OverloadError
	if errors.As(err, &oe) {
		return Overloaded(oe.RetryAfter)
	}
	var de *domain.Error
	if errors.As(err, &de) {
		code := CodeInternal
		switch de.Kind {
		case domain.KindInvalid:
			code = CodeBadRequest
		case domain.KindNotFound:
			code = CodeNotFound
		case domain.KindForbidden:
			code = CodeForbidden
		case domain.KindConflict:
			code = CodeConflict
		case domain.KindTooLarge:
			code = CodeTooLarge
		}
		return &Error{Code: code, Message: de.Error()}
	}
	if isUnavailable(err) {
		return &Error{Code: CodeUnavailable, Message: "the server cannot reach its storage right now; retry later"}
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}

func isUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) >= 2 && pgErr.Code[:2] == "08": // connection exception
			return true
		case len(pgErr.Code) >= 2 && pgErr.Code[:2] == "53": // insufficient resources
			return true
		case pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03": // shutdown, cannot connect now
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
