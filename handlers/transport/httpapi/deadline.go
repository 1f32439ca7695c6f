package httpapi

import (
	"context"
	"net/http"
)

// withDeadline gives h's requests a context that ends Config.RequestTimeout
// after the request arrived, so that every database call made for them has
// a deadline. A call cut short by it fails with context.DeadlineExceeded,
// which the handlers answer 503 unavailable (see wire.FromError): the client
// may retry. The client going away still cancels the context at once.
func (a *API) withDeadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RequestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
