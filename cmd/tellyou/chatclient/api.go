package chatclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// httpTimeout bounds one HTTP request to the server.
const httpTimeout = 30 * time.Second

// api is the server's HTTP API as the client uses it.
type api struct {
	base   string // http(s)://host:port, no trailing slash
	token  string
	client *http.Client
	busy   *busyNote // told while a request waits out an overloaded server
}

func (a *api) sessions(ctx context.Context) ([]Session, error) {
	var answer struct {
		Sessions []Session `json:"sessions"`
	}
	if err := a.do(ctx, http.MethodGet, "/v1/sessions", nil, http.StatusOK, &answer); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return answer.Sessions, nil
}

// latest returns the newest limit messages of a session, ascending.
func (a *api) latest(ctx context.Context, sessionID string, limit int) (page, error) {
	return a.before(ctx, sessionID, math.MaxInt64, limit)
}

// before returns the limit messages just below seq, ascending.
func (a *api) before(ctx context.Context, sessionID string, seq int64, limit int) (page, error) {
	q := url.Values{"beforeSeq": {strconv.FormatInt(seq, 10)}, "limit": {strconv.Itoa(limit)}}
	var p page
	path := "/v1/sessions/" + url.PathEscape(sessionID) + "/messages?" + q.Encode()
	if err := a.do(ctx, http.MethodGet, path, nil, http.StatusOK, &p); err != nil {
		return page{}, fmt.Errorf("history of %s: %w", sessionID, err)
	}
	return p, nil
}

func (a *api) createGroup(ctx context.Context, title string, members []string) (Session, error) {
	body := map[string]any{"title": title, "members": members}
	var s Session
	if err := a.do(ctx, http.MethodPost, "/v1/sessions", body, http.StatusCreated, &s); err != nil {
		return Session{}, fmt.Errorf("create group %q: %w", title, err)
	}
	return s, nil
}

// setMuted sets the user's muted setting of a session.
func (a *api) setMuted(ctx context.Context, sessionID string, muted bool) error {
	var answer struct {
		Muted bool `json:"muted"`
	}
	path := "/v1/sessions/" + url.PathEscape(sessionID) + "/me"
	if err := a.do(ctx, http.MethodPatch, path, map[string]bool{"muted": muted}, http.StatusOK, &answer); err != nil {
		return fmt.Errorf("set muted of %s: %w", sessionID, err)
	}
	return nil
}

// do sends one request and decodes the answer into out. An answer with
// another status becomes a *ServerError when it carries the API's
// {"code","message"} body. A 503 overloaded answer took nothing: the request
// goes again after the server's hint, at most httpOverloadRetries times.
func (a *api) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var payload []byte
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = data
	}
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	for attempt := 0; ; attempt++ {
		header, data, err := a.once(ctx, method, path, payload, want)
		var refused *ServerError
		if attempt < httpOverloadRetries && errors.As(err, &refused) && refused.Code == "overloaded" {
			if release == nil {
				release = a.busy.hold()
			}
			if !sleep(ctx, overloadDelay(httpRetryHintMs(header, refused))) {
				return ctx.Err()
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		return nil
	}
}

// once sends one request and returns the answer's headers and body, or the
// error a status other than want carries.
func (a *api) once(ctx context.Context, method, path string, payload []byte, want int) (http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	var reader io.Reader
	if payload != nil {
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, reader)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != want {
		return resp.Header, nil, answerError(resp.Status, data)
	}
	return resp.Header, data, nil
}

// answerError turns a refused request's body into a *ServerError, or names
// the status when the body is not the API's error object.
func answerError(status string, body []byte) error {
	var se ServerError
	if json.Unmarshal(body, &se) == nil && se.Code != "" {
		return &se
	}
	return fmt.Errorf("server answered %s: %.200s", status, bytes.TrimSpace(body))
}
