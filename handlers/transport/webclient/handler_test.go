package webclient_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/handlers/transport/webclient"
)

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	t.Parallel()
	if _, err := webclient.New(webclient.Config{}); err == nil || !strings.Contains(err.Error(), "API") {
		t.Errorf("New without an API = %v", err)
	}
	api := http.NotFoundHandler()
	if _, err := webclient.New(webclient.Config{API: api, DevLogin: true, Secret: []byte("short")}); err == nil || !strings.Contains(err.Error(), "Secret") {
		t.Errorf("dev login with a short secret = %v", err)
	}
	if _, err := webclient.New(webclient.Config{API: api}); err != nil {
		t.Errorf("dev login off needs no secret: %v", err)
	}
}

// importPattern finds the static imports of the client's modules.
var importPattern = regexp.MustCompile(`(?m)^import [^;]* from "\./([a-z]+\.js)";`)

func TestThePageAndEveryModuleItLoadsAreServed(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)

	page := s.do(t, "GET", "/", "")
	if page.status != http.StatusOK || page.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", page.status, page.header.Get("Content-Type"))
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("page CSP = %q", csp)
	}
	if cc := page.header.Get("Cache-Control"); cc != "no-cache" || page.header.Get("ETag") == "" {
		t.Errorf("page Cache-Control %q, ETag %q: want no-cache with an ETag", cc, page.header.Get("ETag"))
	}
	for _, ref := range []string{`src="/web/js/main.js"`, `href="/web/app.css"`, `href="/web/icon.svg"`} {
		if !strings.Contains(string(page.body), ref) {
			t.Errorf("page does not reference %s", ref)
		}
	}

	// The page's files, and every module reachable from main.js.
	want := map[string]string{
		"/web/app.css":  "text/css; charset=utf-8",
		"/web/icon.svg": "image/svg+xml",
	}
	queue := []string{"main.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		path := "/web/js/" + name
		if _, seen := want[path]; seen {
			continue
		}
		want[path] = "text/javascript; charset=utf-8"
		a := s.do(t, "GET", path, "")
		if a.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, a.status, a.body)
		}
		for _, m := range importPattern.FindAllStringSubmatch(string(a.body), -1) {
			queue = append(queue, m[1])
		}
	}
	if len(want) < 6 {
		t.Fatalf("found only %d files from main.js's imports: %v", len(want), want)
	}
	for path, ctype := range want {
		a := s.do(t, "GET", path, "")
		if a.status != http.StatusOK || a.header.Get("Content-Type") != ctype || len(a.body) == 0 {
			t.Errorf("GET %s = %d %q (%d bytes), want 200 %q", path, a.status, a.header.Get("Content-Type"), len(a.body), ctype)
		}
		if a.header.Get("Cache-Control") != "no-cache" || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Cache-Control %q, X-Content-Type-Options %q", path, a.header.Get("Cache-Control"), a.header.Get("X-Content-Type-Options"))
		}
		again := s.do(t, "GET", path, "", "If-None-Match", a.header.Get("ETag"))
		if again.status != http.StatusNotModified || len(again.body) != 0 {
			t.Errorf("GET %s with its ETag = %d (%d bytes), want 304", path, again.status, len(again.body))
		}
	}

	head := s.do(t, "HEAD", "/web/js/main.js", "")
	if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("HEAD main.js = %d, %d bytes, %q", head.status, len(head.body), head.header.Get("Content-Type"))
	}
}

func TestUnknownFilesAndMethodsGetJSONErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	for _, path := range []string{"/web/nope.js", "/web/", "/web/js/", "/web/static/index.html", "/web/js/../app.css", "/web/index.html/"} {
		wireError(t, "GET "+path, s.do(t, "GET", path, ""), http.StatusNotFound, "not_found", "no such file")
	}
	a := s.do(t, "POST", "/", `{}`)
	wireError(t, "POST /", a, http.StatusMethodNotAllowed, "bad_request", "POST")
	if a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / Allow = %q", a.header.Get("Allow"))
	}
	a = s.do(t, "DELETE", "/web/app.css", "")
	wireError(t, "DELETE /web/app.css", a, http.StatusMethodNotAllowed, "bad_request")

	// Everything else is the API's, with its answers.
	wireError(t, "GET /nope", s.do(t, "GET", "/nope", ""), http.StatusNotFound, "not_found", "no such route")
	wireError(t, "GET /v1/sessions without a token", s.do(t, "GET", "/v1/sessions", ""), http.StatusUnauthorized, "unauthorized")
	a = s.do(t, "DELETE", "/v1/sessions", "")
	wireError(t, "DELETE /v1/sessions", a, http.StatusMethodNotAllowed, "bad_request")
	if !strings.Contains(a.header.Get("Allow"), "GET") {
		t.Errorf("API 405 Allow = %q", a.header.Get("Allow"))
	}
	if a := s.do(t, "GET", "/v1/sessions", "", "Authorization", "Bearer "+s.Token(t, "ann")); a.status != http.StatusOK {
		t.Errorf("GET /v1/sessions with a token = %d %s", a.status, a.body)
	}
	if a := s.do(t, "GET", "/healthz", ""); a.status != http.StatusOK {
		t.Errorf("GET /healthz = %d %s", a.status, a.body)
	}
}

func TestThePageConfigSaysWhetherDevLoginIsOn(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		s := newServer(t, on)
		a := s.do(t, "GET", webclient.ConfigPath, "")
		var c struct {
			DevLogin       bool  `json:"devLogin"`
			RecallWindowMs int64 `json:"recallWindowMs"`
			EditWindowMs   int64 `json:"editWindowMs"`
		}
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET config = %d %q %q", a.status, a.header.Get("Content-Type"), a.header.Get("Cache-Control"))
		}
		if err := json.Unmarshal(a.body, &c); err != nil || c.DevLogin != on || c.RecallWindowMs != 90_000 || c.EditWindowMs != 600_000 {
			t.Errorf("dev login %v: config %s = %+v, %v", on, a.body, c, err)
		}
	}
}
