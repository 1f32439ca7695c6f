package auth_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

func TestFromRequestReadsHeaderThenQuery(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tok, err := auth.Mint(secret, auth.Principal{UserID: "ann"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v1/sessions", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if p, err := auth.FromRequest(r, secret, now); err != nil || p.UserID != "ann" {
		t.Fatalf("header token = %+v, %v", p, err)
	}
	r = httptest.NewRequest("GET", "/v1/ws?token="+tok, nil)
	if p, err := auth.FromRequest(r, secret, now); err != nil || p.UserID != "ann" {
		t.Fatalf("query token = %+v, %v", p, err)
	}
	r = httptest.NewRequest("GET", "/v1/ws", nil)
	if _, err := auth.FromRequest(r, secret, now); !errors.Is(err, auth.ErrNoToken) {
		t.Fatalf("no token = %v", err)
	}
	for _, h := range []string{"Basic abc", "Bearer", "Bearer ", tok} {
		r = httptest.NewRequest("GET", "/v1/ws?token="+tok, nil)
		r.Header.Set("Authorization", h)
		if _, err := auth.FromRequest(r, secret, now); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Authorization %q = %v, want invalid (a bad header is not overridden by the query)", h, err)
		}
	}
}
