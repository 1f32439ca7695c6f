package chatclient

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// UserFromToken returns the user id (the sub claim) a JWT names, without
// checking its signature: the server checks it; the client only needs to
// know whose messages are its own.
func UserFromToken(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("token is not a JWT: want three dot-separated parts, got %d", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("token payload is not base64url: %w", err)
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", fmt.Errorf("token payload is not a JSON object: %w", err)
	}
	if !validUserID(claims.Sub) {
		return "", fmt.Errorf("token's sub claim %q is not a user id", claims.Sub)
	}
	return claims.Sub, nil
}
