package webclient_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/webclient"
)

func TestDevLoginOffAnswersLikeAnUnknownRoute(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	unknown := s.do(t, "POST", "/v1/no-such-route", `{"user":"ann"}`)
	for _, method := range []string{"POST", "GET"} {
		a := s.do(t, method, webclient.DevTokenPath, `{"user":"ann"}`)
		if a.status != unknown.status || string(a.body) != string(unknown.body) || a.header.Get("Content-Type") != unknown.header.Get("Content-Type") {
			t.Errorf("%s %s with dev login off = %d %s, want what an unknown route answers: %d %s",
				method, webclient.DevTokenPath, a.status, a.body, unknown.status, unknown.body)
		}
	}
	wireError(t, "unknown route", unknown, http.StatusNotFound, "not_found")
}

func TestDevLoginMintsATokenTheAPIAccepts(t *testing.T) {
	t.Parallel()
	s := newServer(t, true)
	before := time.Now()
	a := s.do(t, "POST", webclient.DevTokenPath, `{"user":"Ann_1.x-y"}`, "Content-Type", "application/json")
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("mint = %d %q %q %s", a.status, a.header.Get("Content-Type"), a.header.Get("Cache-Control"), a.body)
	}
	var got struct {
		Token     string `json:"token"`
		User      string `json:"user"`
		ExpiresAt int64  `json:"expiresAt"`
	}
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	p, err := auth.Verify(s.Secret, got.Token, time.Now())
	if err != nil || p.UserID != "Ann_1.x-y" || got.User != "Ann_1.x-y" || len(p.Roles) != 0 {
		t.Fatalf("minted token = %+v, %v (answer %+v)", p, err, got)
	}
	ttl := p.ExpiresAt.Sub(before)
	if ttl < webclient.DefaultDevTokenTTL-time.Minute || ttl > webclient.DefaultDevTokenTTL+time.Minute {
		t.Errorf("token valid for %v, want about %v", ttl, webclient.DefaultDevTokenTTL)
	}
	if exp := time.UnixMilli(got.ExpiresAt); exp.Sub(p.ExpiresAt).Abs() > time.Second {
		t.Errorf("expiresAt %v, token exp %v", exp, p.ExpiresAt)
	}

	// The token works on the API, as the user it names.
	created := s.do(t, "POST", "/v1/sessions", `{"title":"dev","members":["bob"]}`, "Authorization", "Bearer "+got.Token)
	var group struct {
		Owner   string   `json:"owner"`
		Members []string `json:"members"`
	}
	if created.status != http.StatusCreated || json.Unmarshal(created.body, &group) != nil || group.Owner != "Ann_1.x-y" {
		t.Fatalf("create group with the dev token = %d %s", created.status, created.body)
	}
	// A forged token (signed with another secret) is still refused.
	forged, err := auth.Mint([]byte("another-secret-0123456789abcdef"), auth.Principal{UserID: "ann"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wireError(t, "forged token", s.do(t, "GET", "/v1/sessions", "", "Authorization", "Bearer "+forged), http.StatusUnauthorized, "unauthorized")

	a = s.do(t, "GET", webclient.DevTokenPath, "")
	wireError(t, "GET dev token", a, http.StatusMethodNotAllowed, "bad_request", "GET")
	if a.header.Get("Allow") != "POST" {
		t.Errorf("GET dev token Allow = %q", a.header.Get("Allow"))
	}
}

func TestDevLoginRefusesBadUserNames(t *testing.T) {
	t.Parallel()
	s := newServer(t, true)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		words      []string
	}{
		{"no body", "", 400, "bad_request", []string{`{"user":"alice"}`}},
		{"not JSON", "user=alice", 400, "bad_request", []string{"JSON object"}},
		{"an array", `["alice"]`, 400, "bad_request", []string{"JSON object"}},
		{"malformed", `{"user":"alice"`, 400, "bad_request", []string{"JSON object"}},
		{"two objects", `{"user":"alice"}{"user":"bob"}`, 400, "bad_request", []string{"one JSON object"}},
		{"user not a string", `{"user":5}`, 400, "bad_request", []string{`string "user"`}},
		{"missing user", `{"name":"alice"}`, 400, "bad_request", []string{`"user" is required`}},
		{"null user", `{"user":null}`, 400, "bad_request", []string{`"user" is required`}},
		{"empty", `{"user":""}`, 400, "bad_request", []string{"empty", "1-64 characters"}},
		{"too long", `{"user":"` + strings.Repeat("a", 65) + `"}`, 400, "bad_request", []string{"65 bytes", "1-64 characters"}},
		{"space", `{"user":"al ice"}`, 400, "bad_request", []string{`' '`, "byte 2"}},
		{"colon", `{"user":"d:ann"}`, 400, "bad_request", []string{`':'`}},
		{"slash", `{"user":"../admin"}`, 400, "bad_request", []string{`'/'`}},
		{"not ASCII", `{"user":"zoë"}`, 400, "bad_request", []string{`'ë'`}},
		{"control character", `{"user":"ann\n"}`, 400, "bad_request", []string{`'\n'`}},
		{"too large", `{"user":"` + strings.Repeat("a", 2000) + `"}`, 413, "too_large", []string{"1024 bytes"}},
	} {
		a := s.do(t, "POST", webclient.DevTokenPath, tc.body)
		msg := wireError(t, tc.name, a, tc.status, tc.code, tc.words...)
		if strings.Contains(string(a.body), "token\":") {
			t.Errorf("%s: a refused request got a token: %s", tc.name, a.body)
		}
		t.Logf("%s: %s", tc.name, msg)
	}
	// 64 characters is the longest name allowed.
	if a := s.do(t, "POST", webclient.DevTokenPath, `{"user":"`+strings.Repeat("z", 64)+`"}`); a.status != http.StatusOK {
		t.Errorf("64-character name = %d %s", a.status, a.body)
	}
}
