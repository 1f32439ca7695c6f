package webclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// maxDevTokenBody bounds the body of POST /v1/dev/token.
const maxDevTokenBody = 1 << 10

// maxUserIDLen is the longest user id (PROTOCOL.md Identity).
const maxUserIDLen = 64

// devTokenRequest is the body of POST /v1/dev/token.
type devTokenRequest struct {
	User *string `json:"user"`
}

// devToken is the answer of POST /v1/dev/token.
type devToken struct {
	Token string `json:"token"`
	User  string `json:"user"`
	// ExpiresAt is when the token stops being valid, ms since the epoch.
	ExpiresAt int64 `json:"expiresAt"`
}

// mintDevToken answers POST /v1/dev/token: a token for the named user, with
// no roles, valid for Config.DevTokenTTL. A name that is not a valid user id
// is refused with bad_request saying what is wrong with it.
func (h *Handler) mintDevToken(w http.ResponseWriter, r *http.Request) {
	user, err := readDevTokenRequest(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := h.cfg.Now()
	token, mintErr := auth.Mint(h.cfg.Secret, auth.Principal{UserID: user, Device: "web"}, now, h.cfg.DevTokenTTL)
	if mintErr != nil {
		// The name was checked above and the secret by Validate.
		h.cfg.Logger.Error("dev login: mint token", "user", user, "err", mintErr)
		writeError(w, r, &wire.Error{Code: wire.CodeInternal, Message: "internal error"})
		return
	}
	h.cfg.Logger.Info("dev login: token minted", "user", user)
	writeJSON(w, r, http.StatusOK, devToken{Token: token, User: user, ExpiresAt: now.Add(h.cfg.DevTokenTTL).UnixMilli()})
}

// readDevTokenRequest reads and checks the body of POST /v1/dev/token.
func readDevTokenRequest(w http.ResponseWriter, r *http.Request) (string, *wire.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDevTokenBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit)}
	case err != nil:
		return "", wire.BadRequest("the request body could not be read in full")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !utf8.Valid(body) {
		return "", wire.BadRequest(`request body must be a JSON object such as {"user":"alice"}`)
	}
	var req devTokenRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.InputOffset() != int64(len(body)) {
		return "", wire.BadRequest(`request body must be one JSON object with a string "user", such as {"user":"alice"}`)
	}
	if req.User == nil {
		return "", wire.BadRequest(`"user" is required: the user name to sign in as`)
	}
	if problem := userIDProblem(*req.User); problem != "" {
		return "", wire.BadRequest("user: " + problem)
	}
	return *req.User, nil
}

// userIDProblem says why name is not a user id (1-64 characters of
// A-Z a-z 0-9 . _ -), or returns "" when it is one.
func userIDProblem(name string) string {
	const allowed = "1-64 characters of A-Z a-z 0-9 . _ -"
	switch {
	case name == "":
		return "empty; want " + allowed
	case len(name) > maxUserIDLen:
		return fmt.Sprintf("%d bytes long; want %s", len(name), allowed)
	}
	if !domain.ValidUserID(name) {
		for i, c := range name {
			if !isUserIDChar(c) {
				return fmt.Sprintf("character %q at byte %d is not allowed; want %s", c, i, allowed)
			}
		}
		return "not a valid user id; want " + allowed
	}
	return ""
}

func isUserIDChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}
