package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// ErrNoToken is matched by the error of FromRequest when the request carries no
// token at all.
var ErrNoToken = errors.New("no token: send Authorization: Bearer <token> or ?token=<token>")

// FromRequest authenticates a request by its token: the Authorization header's
// Bearer token, or else the token query parameter (browsers cannot set headers
// on a WebSocket). Every error matches ErrInvalidToken or ErrNoToken; answer it
// with 401.
func FromRequest(r *http.Request, secret []byte, now time.Time) (Principal, error) {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
			return Principal{}, errors.Join(ErrInvalidToken, errors.New("authorization header must be: Bearer <token>"))
		}
		token = strings.TrimSpace(value)
	} else {
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return Principal{}, ErrNoToken
	}
	return Verify(secret, token, now)
}
