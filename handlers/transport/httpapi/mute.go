package httpapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// updateMemberSettings answers PATCH /v1/sessions/{id}/me: the caller's own
// settings of a session, {"muted": true|false}, answered with the settings
// after the change. The body is strict, unlike other routes': a setting
// misspelt or of the wrong type would otherwise be dropped silently, and a
// user who asked for silence would still be woken.
func (a *API) updateMemberSettings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var fields map[string]json.RawMessage
	if err := a.decodeBody(w, r, &fields); err != nil {
		return err
	}
	raw, ok := fields["muted"]
	delete(fields, "muted")
	switch {
	case len(fields) > 0:
		return wire.BadRequest("unknown field " + strings.Join(slices.Sorted(maps.Keys(fields)), ", ") +
			`: the only setting is "muted"`)
	case !ok:
		return wire.BadRequest(`field "muted" is missing: send {"muted": true} or {"muted": false}`)
	}
	var muted bool
	switch v := bytes.TrimSpace(raw); string(v) {
	case "true":
		muted = true
	case "false":
	default:
		return wire.BadRequest(`field "muted": want true or false`)
	}
	settings, err := a.cfg.Commands.Mute.Handle(r.Context(), command.Mute{
		Meta: a.requestMeta(r, p), SessionID: r.PathValue("id"), Muted: muted,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settings)
	return nil
}
