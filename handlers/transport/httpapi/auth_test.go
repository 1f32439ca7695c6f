package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// protectedRoutes is every route that needs a token, with a request that
// would otherwise succeed.
var protectedRoutes = []struct{ method, path, body string }{
	{http.MethodGet, "/v1/sessions", ""},
	{http.MethodPost, "/v1/sessions", `{"title":"t","members":["bob"]}`},
	{http.MethodPost, "/v1/sessions/d:ann:bob/members", `{"add":["carl"]}`},
	{http.MethodGet, "/v1/sessions/d:ann:bob/messages", ""},
	{http.MethodGet, "/v1/inbox", ""},
	{http.MethodGet, "/v1/unread", ""},
	{http.MethodGet, "/v1/audit/sessions/d:ann:bob/events", ""},
	{http.MethodGet, "/v1/feed", ""},
}

func TestProtectedRoutesRefuseBadTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	s.sendTo(t, "ann", "bob", "hi")
	now := time.Now()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := jwt.MapClaims{"sub": "ann", "exp": now.Add(time.Hour).Unix(), "roles": []string{"auditor"}}
	forged, err := auth.Mint([]byte("another-secret-0123456789abcdef"), auth.Principal{UserID: "ann", Roles: []string{"auditor"}}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := auth.Mint(s.Secret, auth.Principal{UserID: "ann", Roles: []string{"auditor"}}, now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	good := s.Token(t, "ann", "auditor")

	cases := []struct {
		name          string
		authorization string // the Authorization header, if any
		query         string // the token query parameter, if any
		message       string
	}{
		{name: "missing", message: "missing token"},
		{name: "forged", authorization: "Bearer " + forged, message: "invalid token"},
		{name: "forged in the query", query: forged, message: "invalid token"},
		{name: "alg none", authorization: "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), message: "invalid token"},
		{name: "HS512 with the right secret", authorization: "Bearer " + sign(jwt.SigningMethodHS512, s.Secret, valid), message: "invalid token"},
		{name: "expired", authorization: "Bearer " + expired, message: "token expired"},
		{name: "expired in the query", query: expired, message: "token expired"},
		{name: "no exp", authorization: "Bearer " + sign(jwt.SigningMethodHS256, s.Secret, jwt.MapClaims{"sub": "ann"}), message: "invalid token"},
		{name: "invalid subject", authorization: "Bearer " + sign(jwt.SigningMethodHS256, s.Secret, jwt.MapClaims{"sub": "not a user", "exp": now.Add(time.Hour).Unix()}), message: "invalid token"},
		{name: "malformed", authorization: "Bearer not-a-jwt", message: "invalid token"},
		{name: "three dots", authorization: "Bearer a.b.c", message: "invalid token"},
		{name: "truncated", authorization: "Bearer " + good[:len(good)-5], message: "invalid token"},
		{name: "empty bearer", authorization: "Bearer ", message: "invalid token"},
		{name: "basic scheme", authorization: "Basic YW5uOnB3", message: "invalid token"},
		{name: "no scheme", authorization: good, message: "invalid token"},
		// A bad header is not rescued by a good query token.
		{name: "bad header, good query", authorization: "Bearer junk", query: good, message: "invalid token"},
	}
	for _, route := range protectedRoutes {
		for _, tc := range cases {
			t.Run(route.method+" "+route.path+"/"+tc.name, func(t *testing.T) {
				req := request{method: route.method, path: route.path, header: map[string]string{}}
				if route.body != "" {
					req.body = route.body
				}
				if tc.authorization != "" {
					req.header["Authorization"] = tc.authorization
				}
				if tc.query != "" {
					req.path += "?token=" + tc.query
				}
				a := s.do(t, req)
				wantError(t, a, http.StatusUnauthorized, "unauthorized", tc.message)
				if ch := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
					t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge", ch)
				}
			})
		}
	}
}

func TestTokenInTheQueryIsAccepted(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOptions{})
	a := s.do(t, request{method: http.MethodGet, path: "/v1/unread?token=" + s.Token(t, "ann")})
	if u := decodeAs[unreadAnswer](t, a, http.StatusOK); u.Total != 0 {
		t.Fatalf("unread = %+v", u)
	}
}
