package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/tellyou/tellyou/handlers/transport/ws"
)

func TestBadTokensAreRefusedWith401OnBothTransports(t *testing.T) {
	t.Parallel()
	e := newGuardedEnv(t, ws.Limits{})
	before := e.storedCounts(t)
	// Authorization headers, by what is wrong with them; "" sends none.
	headers := map[string]string{"no token": "", "Basic scheme": "Basic YW5uOmFubg==", "Bearer without a token": "Bearer "}
	for name, token := range badTokens(t, e.Secret) {
		headers[name] = "Bearer " + token
	}
	cases := 0
	for name, header := range headers {
		h := map[string]string{}
		if header != "" {
			h["Authorization"] = header
		}
		wantRefusal(t, "HTTP, "+name, e.do(t, http.MethodGet, "/v1/sessions", "", nil, h), http.StatusUnauthorized, "unauthorized")

		// Over WebSocket, in the header and, for tokens, in the query.
		opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
		for k, v := range h {
			opts.HTTPHeader.Set(k, v)
		}
		e.wantWSRefused(t, name+" (header)", e.wsURL(), opts)
		if token, ok := strings.CutPrefix(header, "Bearer "); ok && token != "" {
			e.wantWSRefused(t, name+" (query)", e.wsURL()+"?token="+url.QueryEscape(token), nil)
		}
		cases += 2
	}
	// The same paths let a good token in.
	good := e.Token(t, "ann")
	if a := e.do(t, http.MethodGet, "/v1/sessions", good, nil, nil); a.status != http.StatusOK {
		t.Errorf("a good token over HTTP: %d %s", a.status, a.body)
	}
	e.connectToken(t, url.QueryEscape(good))
	if after := e.storedCounts(t); after != before {
		t.Errorf("the log went from %+v to %+v", before, after)
	}
	t.Logf("ran %d bad-token cases (%d tokens, HTTP and WebSocket each)", cases, len(headers))
}

// wantWSRefused dials and wants a JSON 401 before any upgrade.
func (e *env) wantWSRefused(t *testing.T, name, u string, opts *websocket.DialOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, opts)
	if err == nil {
		_ = conn.CloseNow()
		t.Errorf("WebSocket, %s: upgraded", name)
		return
	}
	var body struct{ Code, Message string }
	if resp == nil || resp.StatusCode != http.StatusUnauthorized ||
		json.NewDecoder(resp.Body).Decode(&body) != nil || body.Code != "unauthorized" || body.Message == "" {
		t.Errorf("WebSocket, %s: %v (response %v, body %+v), want 401 unauthorized", name, err, resp, body)
	}
}
