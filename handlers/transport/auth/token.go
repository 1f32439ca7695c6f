// Package auth mints and checks the JWTs clients present (HS256, PROTOCOL.md
// Identity) and keeps the server's generated signing secret in PostgreSQL when
// none is configured.
package auth

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tellyou/tellyou/domain"
)

// RoleAuditor lets a user read raw event history and the event feed.
const RoleAuditor = "auditor"

// RoleAdmin lets a user act on other users: erase them
// (DELETE /v1/users/{id}) and read their own streams' events
// (GET /v1/audit/users/{id}/events).
const RoleAdmin = "admin"

// MinSecretBytes is the shortest HS256 secret accepted.
const MinSecretBytes = 16

// Principal is an authenticated user.
type Principal struct {
	UserID string
	Roles  []string
	Device string
	// ExpiresAt is when the token stops being valid.
	ExpiresAt time.Time
}

// IsAuditor reports whether the principal holds the auditor role.
func (p Principal) IsAuditor() bool { return slices.Contains(p.Roles, RoleAuditor) }

// IsAdmin reports whether the principal holds the admin role.
func (p Principal) IsAdmin() bool { return slices.Contains(p.Roles, RoleAdmin) }

type claims struct {
	Roles  []string `json:"roles,omitempty"`
	Device string   `json:"device,omitempty"`
	jwt.RegisteredClaims
}

// Mint signs a token for a principal, valid for ttl from now.
func Mint(secret []byte, p Principal, now time.Time, ttl time.Duration) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("mint token: secret shorter than %d bytes", MinSecretBytes)
	}
	if !domain.ValidUserID(p.UserID) {
		return "", fmt.Errorf("mint token: invalid user id %q", p.UserID)
	}
	if ttl <= 0 {
		return "", errors.New("mint token: ttl must be positive")
	}
	c := claims{
		Roles:  p.Roles,
		Device: p.Device,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.UserID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// ErrInvalidToken is matched by every error of Verify.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks a token's signature (HS256 only), expiry (required) and subject
// (a valid user id) and returns its principal.
func Verify(secret []byte, token string, now time.Time) (Principal, error) {
	var c claims
	parsed, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !parsed.Valid {
		return Principal{}, ErrInvalidToken
	}
	if !domain.ValidUserID(c.Subject) {
		return Principal{}, fmt.Errorf("%w: subject is not a valid user id", ErrInvalidToken)
	}
	return Principal{UserID: c.Subject, Roles: c.Roles, Device: c.Device, ExpiresAt: c.ExpiresAt.Time}, nil
}
