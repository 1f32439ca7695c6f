package httpapi

import (
	"context"
	"net/http"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// Eraser erases users; *command.EraseHandler is one.
type Eraser interface {
	Handle(ctx context.Context, cmd command.EraseUser) (command.Erasure, error)
}

var _ Eraser = (*command.EraseHandler)(nil)

// eraseAnswer is the answer of DELETE /v1/users/{id}.
type eraseAnswer struct {
	UserID   string `json:"userId"`
	ErasedAt int64  `json:"erasedAt"`
}

// eraseUser answers DELETE /v1/users/{id}: the user themself or an admin
// erases the user; 200 with the first erasure's time, also when repeated.
// The id "me" names the caller, as in GET /v1/users/me/export.
func (a *API) eraseUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if a.cfg.Erase == nil {
		return &wire.Error{Code: wire.CodeUnavailable, Message: "erasure is not served by this node"}
	}
	user := r.PathValue("id")
	if user == "me" {
		user = p.UserID
	}
	e, err := a.cfg.Erase.Handle(r.Context(), command.EraseUser{
		Meta: a.requestMeta(r, p), ActorIsAdmin: p.IsAdmin(), UserID: user,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, eraseAnswer{UserID: e.UserID, ErasedAt: e.ErasedAt})
	return nil
}
