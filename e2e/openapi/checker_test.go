package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// patience bounds one request: it turns a hang into a failure; no test
// waits on it.
const patience = 30 * time.Second

// checker sends requests to the server and validates each request and its
// answer against the description. It records which of the description's
// operations were validated, and which drafts the server does not serve yet.
type checker struct {
	doc    *openapi3.T
	router routers.Router
	base   string

	mu        sync.Mutex
	validated map[string]bool   // operation key ("GET /v1/sessions/{id}/messages")
	pending   map[string]string // draft operation key -> what the server answered
}

func newChecker(t *testing.T, doc *openapi3.T, base string) *checker {
	t.Helper()
	// The description's server is the default listen address; the test's
	// server listens elsewhere, so routes are matched on the path alone.
	local := *doc
	local.Servers = nil
	router, err := gorillamux.NewRouter(&local)
	if err != nil {
		t.Fatalf("router from the description: %v", err)
	}
	return &checker{doc: doc, router: router, base: base, validated: map[string]bool{}, pending: map[string]string{}}
}

// call is one request of the test and what it expects.
type call struct {
	method string
	path   string // with its query
	token  string // sent as a Bearer token when not empty
	body   string
	header map[string]string
	status int // the status the answer must have
	// invalid marks a request that breaks the description on purpose (no
	// token, a value out of range): the description must refuse it too.
	// Its answer is validated like any other.
	invalid bool
	// readBody reads what is validated of the answer's body (default: all
	// of it); a stream is read in part.
	readBody func(io.Reader) ([]byte, error)
}

// answer is an HTTP answer as the test read it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends the call, checks its status and validates request and answer.
func (c *checker) do(t *testing.T, cl call) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req := c.request(ctx, t, cl)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", cl.method, cl.path, err)
	}
	read := cl.readBody
	if read == nil {
		read = io.ReadAll
	}
	body, err := read(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", cl.method, cl.path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	if a.status != cl.status {
		t.Fatalf("%s %s: status %d, want %d; body %s", cl.method, cl.path, a.status, cl.status, a.body)
	}
	c.validate(t, c.request(ctx, t, cl), cl.invalid, a)
	return a
}

// request builds the call's request.
func (c *checker) request(ctx context.Context, t *testing.T, cl call) *http.Request {
	t.Helper()
	var body io.Reader
	if cl.body != "" {
		body = strings.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if cl.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	for k, v := range cl.header {
		req.Header.Set(k, v)
	}
	return req
}

// validate checks req (as it was sent, its body unread) against the
// description, refused when invalid is set, and the answer against the
// operation's responses, whose statuses are the only ones allowed.
func (c *checker) validate(t *testing.T, req *http.Request, invalid bool, a answer) {
	t.Helper()
	what := req.Method + " " + req.URL.RequestURI()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s: not in the description: %v", what, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: authenticate, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	err = openapi3filter.ValidateRequest(req.Context(), in)
	switch {
	case invalid && err == nil:
		t.Errorf("%s: the description accepts a request the test sends as invalid", what)
	case !invalid && err != nil:
		t.Errorf("%s: the request does not match the description: %v", what, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: a.header, Options: opts}
	out.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		t.Errorf("%s: answer %d does not match the description: %v\nbody: %s", what, a.status, err, a.body)
	}
	c.mu.Lock()
	c.validated[route.Method+" "+route.Path] = true
	c.mu.Unlock()
}

// authenticate accepts a request that carries a token where the security
// scheme puts it; the server checks the token itself.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearerAuth":
		if strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "tokenQuery":
		if req.URL.Query().Get("token") != "" {
			return nil
		}
	}
	return errors.New("no token where " + in.SecuritySchemeName + " puts it")
}

// served asks the server, without a token, whether it serves method on
// path: a route it lacks answers 404 "no such route", or 405 when the path
// has other methods. It returns that answer when it is not served.
func (c *checker) served(t *testing.T, method, path string) (bool, string) {
	t.Helper()
	a := c.raw(t, method, path, nil)
	if a.status == http.StatusMethodNotAllowed || a.status == http.StatusNotFound && isNoSuchRoute(a.body) {
		return false, strings.TrimSpace(string(a.body))
	}
	return true, ""
}

// raw sends a request without validating it.
func (c *checker) raw(t *testing.T, method, path string, header map[string]string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

func isNoSuchRoute(body []byte) bool {
	var e struct{ Code, Message string }
	return json.Unmarshal(body, &e) == nil && e.Code == "not_found" && e.Message == "no such route"
}

// draftPending skips the test while the server does not serve the draft
// operation op ("GET /v1/presence") at path; an operation that is not a
// draft must be served.
func (c *checker) draftPending(t *testing.T, op, path string) {
	t.Helper()
	method, _, _ := strings.Cut(op, " ")
	ok, answer := c.served(t, method, path)
	if ok {
		return
	}
	if !c.isDraft(op) {
		t.Fatalf("%s is described as served, but %s %s answers %s", op, method, path, answer)
	}
	c.mu.Lock()
	c.pending[op] = answer
	c.mu.Unlock()
	t.Skipf("%s is a draft from the feature specification that the server does not serve yet (%s %s answers %s); "+
		"this test validates it once the route is there", op, method, path, answer)
}

// isDraft reports whether the description marks operation op as a draft.
func (c *checker) isDraft(op string) bool {
	method, path, _ := strings.Cut(op, " ")
	item := c.doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		return false
	}
	draft, _ := item.GetOperation(method).Extensions["x-draft"].(bool)
	return draft
}

// operations lists the description's operations as "METHOD /path".
func operations(doc *openapi3.T) []string {
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// decode decodes a JSON answer.
func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
	return v
}

// firstEvent reads a Server-Sent Events stream up to the end of its first
// event (a blank line).
func firstEvent(r io.Reader) ([]byte, error) {
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("\n\n")) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}
