package httpapi

import (
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tellyou/tellyou/handlers"
	"github.com/tellyou/tellyou/handlers/auth"
	"github.com/tellyou/tellyou/handlers/wire"
)

// userHandler serves an authenticated request. An error it returns is
// answered by fail; a handler that has begun its answer returns nil.
type userHandler func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// authenticated checks the request's token (Authorization: Bearer, or the
// token query parameter) and answers 401 unauthorized, with a
// WWW-Authenticate challenge, when it is missing, malformed, forged or
// expired.
func (a *API) authenticated(h userHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := auth.FromRequest(r, a.cfg.Secret, a.cfg.Now())
		if err != nil {
			a.fail(w, r, &wire.Error{Code: wire.CodeUnauthorized, Message: unauthorizedMessage(err)})
			return
		}
		if err := h(w, r, p); err != nil {
			a.fail(w, r, err)
		}
	})
}

// unauthorizedMessage says what was wrong with the token without echoing it.
func unauthorizedMessage(err error) string {
	switch {
	case errors.Is(err, auth.ErrNoToken):
		return "missing token: send Authorization: Bearer <token> or ?token=<token>"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	default:
		return "invalid token"
	}
}

// maxRequestIDLen bounds an X-Request-Id taken as the correlation id.
const maxRequestIDLen = 64

// requestMeta is the metadata of the events a request appends: the user, and
// the client's X-Request-Id as the correlation id when it is 1-64 characters
// of [A-Za-z0-9._:-] (otherwise the handlers make a fresh one).
func requestMeta(r *http.Request, p auth.Principal) handlers.RequestMeta {
	meta := handlers.RequestMeta{Actor: p.UserID}
	if id := r.Header.Get("X-Request-Id"); validRequestID(id) {
		meta.CorrelationID = id
	}
	return meta
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
