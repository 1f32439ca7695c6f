package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestMintThenVerifyRoundTrips(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tok, err := auth.Mint(secret, auth.Principal{UserID: "alice", Roles: []string{auth.RoleAuditor}, Device: "phone"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.Verify(secret, tok, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if p.UserID != "alice" || !p.IsAuditor() || p.Device != "phone" || !p.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("principal = %+v", p)
	}
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	good, err := auth.Mint(secret, auth.Principal{UserID: "bob"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := now.Add(time.Hour).Unix()
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not.a.jwt",
		"expired":          good,
		"forged signature": good[:len(good)-4] + "AAAA",
		"other secret":     sign(jwt.SigningMethodHS256, []byte("another-secret-of-enough-bytes"), jwt.MapClaims{"sub": "bob", "exp": exp}),
		"alg none":         sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "bob", "exp": exp}),
		"HS512":            sign(jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": "bob", "exp": exp}),
		"no exp":           sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "bob"}),
		"bad subject":      sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "bob smith", "exp": exp}),
		"no subject":       sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": exp}),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			at := now
			if name == "expired" {
				at = now.Add(2 * time.Hour)
			}
			_, err := auth.Verify(secret, tok, at)
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify(%s) = %v, want ErrInvalidToken", name, err)
			}
		})
	}
}

func TestMintRefusesShortSecretsAndBadUsers(t *testing.T) {
	t.Parallel()
	if _, err := auth.Mint([]byte("short"), auth.Principal{UserID: "a"}, time.Now(), time.Hour); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("short secret: %v", err)
	}
	if _, err := auth.Mint(secret, auth.Principal{UserID: "no spaces"}, time.Now(), time.Hour); err == nil {
		t.Fatal("invalid user id minted")
	}
}
