package httpapi

import (
	"math"
	"net/http"

	"github.com/tellyou/tellyou/domain"
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
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	from, err := q.int64In("fromVersion", 0, math.MaxInt64, 1)
	if err != nil {
		return err
	}
	limit, err := q.intIn("limit", 1, query.MaxAuditLimit, query.MaxAuditLimit)
	if err != nil {
		return err
	}
	recs, err := a.cfg.Queries.Audit(r.Context(), query.AuditQuery{
		Auditor: p.IsAuditor(), SessionID: r.PathValue("id"), FromVersion: from, Limit: limit,
	})
	if err != nil {
		return err
	}
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
