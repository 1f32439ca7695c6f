package httpapi

import (
	"math"
	"net/http"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// auditAnswer is the answer of GET /v1/audit/sessions/{id}/events.
type auditAnswer struct {
	Events []wire.AuditEvent `json:"events"`
}

// audit answers GET /v1/audit/sessions/{id}/events (auditors only): the raw
// events of the session's stream with version >= fromVersion (default 1),
// in version order, at most limit (1 to query.MaxAuditLimit, default
// query.MaxAuditLimit).
func (a *API) audit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsAuditor() {
		return &domain.Error{Kind: domain.KindForbidden, Reason: "only auditors read raw events"}
	}
	from, limit, err := auditPage(r)
	if err != nil {
		return err
	}
	recs, err := a.cfg.Queries.Audit(r.Context(), query.AuditQuery{
		Auditor: p.IsAuditor(), SessionID: r.PathValue("id"), FromVersion: from, Limit: limit,
	})
	if err != nil {
		return err
	}
	return a.writeAudit(w, r, recs)
}

// auditUser answers GET /v1/audit/users/{id}/events (admins and auditors):
// the raw events of the user's own stream (their erasure), paged as the
// session audit is.
func (a *API) auditUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.IsAdmin() && !p.IsAuditor() {
		return &domain.Error{Kind: domain.KindForbidden, Reason: "only admins and auditors read a user's events"}
	}
	from, limit, err := auditPage(r)
	if err != nil {
		return err
	}
	recs, err := a.cfg.Queries.AuditUser(r.Context(), query.UserAuditQuery{
		Allowed: true, UserID: r.PathValue("id"), FromVersion: from, Limit: limit,
	})
	if err != nil {
		return err
	}
	return a.writeAudit(w, r, recs)
}

// auditPage reads an audit page's fromVersion (default 1) and limit (1 to
// query.MaxAuditLimit, default query.MaxAuditLimit).
func auditPage(r *http.Request) (from int64, limit int, err error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, 0, err
	}
	if from, err = q.int64In("fromVersion", 0, math.MaxInt64, 1); err != nil {
		return 0, 0, err
	}
	if limit, err = q.intIn("limit", 1, query.MaxAuditLimit, query.MaxAuditLimit); err != nil {
		return 0, 0, err
	}
	return from, limit, nil
}

// writeAudit answers the events as stored, each with its sealed content
// opened when the node has an opener.
func (a *API) writeAudit(w http.ResponseWriter, r *http.Request, recs []events.RecordedEvent) error {
	out := auditAnswer{Events: make([]wire.AuditEvent, 0, len(recs))}
	for _, rec := range recs {
		ev, err := wire.NewOpenedAuditEvent(r.Context(), rec, a.cfg.Opener)
		if err != nil {
			return err
		}
		out.Events = append(out.Events, ev)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
