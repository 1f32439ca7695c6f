package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// sessionSettings is the answer of PATCH /v1/sessions/{id}: the session's
// settings after the change.
type sessionSettings struct {
	SessionID string `json:"sessionId"`
	// RetentionDays is the session's own retention; null: the server's
	// default applies.
	RetentionDays *int `json:"retentionDays"`
}

// retentionDaysProblem is the answer to a retentionDays that is not a whole
// number of days in range.
var retentionDaysProblem = fmt.Sprintf("retentionDays must be a whole number of days from %d to %d, or null for the server default",
	domain.MinRetentionDays, domain.MaxRetentionDays)

// patchSession answers PATCH /v1/sessions/{id} with the body
// {"retentionDays": N | null}: the owner of a group, or either member of a
// direct session, sets how long the session keeps its messages. Unlike the
// other bodies, this one is read strictly: a setting is a deliberate act, so
// an unknown field (a typo of the one setting) is refused, not ignored.
func (a *API) patchSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body map[string]json.RawMessage
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	days, err := parseRetentionBody(body)
	if err != nil {
		return err
	}
	h, err := command.NewSetRetentionHandler(a.cfg.Commands.Sessions)
	if err != nil {
		return err
	}
	s, err := h.Handle(r.Context(), command.SetRetention{Meta: a.requestMeta(r, p), SessionID: r.PathValue("id"), Days: days})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionSettings{SessionID: s.ID, RetentionDays: s.RetentionDays})
	return nil
}

// parseRetentionBody reads {"retentionDays": N | null} and nothing else.
func parseRetentionBody(body map[string]json.RawMessage) (*int, error) {
	for k := range body {
		if k != "retentionDays" {
			return nil, wire.BadRequest(fmt.Sprintf("unknown field %q: the body holds only \"retentionDays\"", k))
		}
	}
	raw, ok := body["retentionDays"]
	if !ok {
		return nil, wire.BadRequest(`"retentionDays" is required: a whole number of days, or null for the server default`)
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return nil, wire.BadRequest(fmt.Sprintf("field \"retentionDays\": want a number of days or null, got a JSON %s", jsonKind(raw)))
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil || n < domain.MinRetentionDays || n > domain.MaxRetentionDays {
		return nil, wire.BadRequest(retentionDaysProblem)
	}
	d := int(n)
	return &d, nil
}

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(raw []byte) string {
	switch {
	case len(raw) == 0:
		return "value"
	case raw[0] == '"':
		return "string"
	case raw[0] == '{':
		return "object"
	case raw[0] == '[':
		return "array"
	case raw[0] == 't' || raw[0] == 'f':
		return "boolean"
	default:
		return "value"
	}
}
