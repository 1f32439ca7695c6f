package httpapi

import (
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
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

// requestMeta is the metadata of the events a request appends: the user,
// and the request's correlation id (see withRequestScope), which the answer's
// X-Request-Id header and the request's log lines carry too.
func (a *API) requestMeta(r *http.Request, p auth.Principal) command.RequestMeta {
	return command.RequestMeta{Actor: p.UserID, CorrelationID: a.scopeOf(r.Context()).correlationID}
}
