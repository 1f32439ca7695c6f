package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/presence"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// MaxPresenceUsers bounds the users one GET /v1/presence asks about.
const MaxPresenceUsers = 100

// Presence is what the API needs of presence. presence.Tracker implements it.
type Presence interface {
	// Statuses returns the presence of users, in their order.
	Statuses(ctx context.Context, users []string) ([]presence.Status, error)
	// Lookup is Statuses for userID, refused unless each user is userID or
	// shares a session with them.
	Lookup(ctx context.Context, userID string, users []string) ([]presence.Status, error)
}

var _ Presence = (*presence.Tracker)(nil)

// memberState is one entry of GET /v1/sessions/{id}/members.
type memberState struct {
	UserID      string `json:"userId"`
	Role        string `json:"role"`
	ReceivedSeq int64  `json:"receivedSeq"`
	ReadSeq     int64  `json:"readSeq"`
	Online      bool   `json:"online"`
	LastSeenAt  int64  `json:"lastSeenAt"`
}

// members answers GET /v1/sessions/{id}/members: every member's watermarks,
// role and presence, sorted by user id, to members only.
func (a *API) members(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	states, err := a.cfg.Queries.MemberStates(r.Context(), p.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]memberState, len(states))
	ids := make([]string, len(states))
	for i, s := range states {
		out[i] = memberState{UserID: s.UserID, Role: s.Role, ReceivedSeq: s.ReceivedSeq, ReadSeq: s.ReadSeq}
		ids[i] = s.UserID
	}
	if a.cfg.Presence != nil {
		statuses, err := a.cfg.Presence.Statuses(r.Context(), ids)
		if err != nil {
			return err
		}
		for i, s := range statuses {
			out[i].Online, out[i].LastSeenAt = s.Online, s.LastSeenAt
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// presence answers GET /v1/presence?users=a,b: the presence of the users
// listed (1 to MaxPresenceUsers of them), each the caller or sharing a
// session with them.
func (a *API) presence(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if a.cfg.Presence == nil {
		return &wire.Error{Code: wire.CodeUnavailable, Message: "presence is not tracked on this server"}
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	users, err := userList(q.values["users"])
	if err != nil {
		return err
	}
	statuses, err := a.cfg.Presence.Lookup(r.Context(), p.UserID, users)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statuses)
	return nil
}

// userList reads the users parameter: user ids separated by commas, repeats
// dropped, in their order.
func userList(vals []string) ([]string, error) {
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return nil, wire.BadRequest("users is required: user ids separated by commas")
	}
	var users []string
	seen := map[string]bool{}
	for _, u := range strings.Split(vals[0], ",") {
		u = strings.TrimSpace(u)
		if !domain.ValidUserID(u) {
			return nil, wire.BadRequest(fmt.Sprintf("users: %q is not a user id", u))
		}
		if seen[u] {
			continue
		}
		seen[u] = true
		users = append(users, u)
		if len(users) > MaxPresenceUsers {
			return nil, wire.BadRequest(fmt.Sprintf("users: at most %d user ids", MaxPresenceUsers))
		}
	}
	return users, nil
}
