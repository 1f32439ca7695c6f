package httpapi

import (
	"net/http"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/readmodels"
)

// sessionList is the answer of GET /v1/sessions.
type sessionList struct {
	Sessions []readmodels.Session `json:"sessions"`
}

// listSessions answers GET /v1/sessions: the user's sessions, latest activity
// first.
func (a *API) listSessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := a.cfg.Queries.Sessions(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []readmodels.Session{}
	}
	writeJSON(w, http.StatusOK, sessionList{Sessions: list})
	return nil
}

// createGroupRequest is the body of POST /v1/sessions.
type createGroupRequest struct {
	Title   string   `json:"title"`
	Members []string `json:"members"`
}

// createGroup answers POST /v1/sessions: 201 and the new group as its creator
// sees it in the session list.
func (a *API) createGroup(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req createGroupRequest
	if err := a.decodeBody(w, r, &req); err != nil {
		return err
	}
	s, err := a.cfg.Commands.CreateGroup.Handle(r.Context(), command.CreateGroup{
		Meta: a.requestMeta(r, p), Title: req.Title, Members: req.Members,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, query.SessionView(s, p.UserID))
	return nil
}

// changeMembersRequest is the body of POST /v1/sessions/{id}/members.
type changeMembersRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// changeMembers answers POST /v1/sessions/{id}/members (owner only): the
// group after the change, as the owner sees it in the session list.
func (a *API) changeMembers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req changeMembersRequest
	if err := a.decodeBody(w, r, &req); err != nil {
		return err
	}
	s, err := a.cfg.Commands.ChangeMembers.Handle(r.Context(), command.ChangeMembers{
		Meta: a.requestMeta(r, p), SessionID: r.PathValue("id"), Add: req.Add, Remove: req.Remove,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, query.SessionView(s, p.UserID))
	return nil
}
