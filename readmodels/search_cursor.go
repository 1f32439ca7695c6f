package readmodels

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBadCursor is matched by the error of ParseSearchCursor for a cursor
// that Search did not hand out.
var ErrBadCursor = errors.New("malformed search cursor")

// SearchCursor is where the next page of a search starts (see Search).
// Clients hold it as the opaque text of String.
type SearchCursor struct {
	// Newest is the latest activity the first page found: the tiers'
	// bounds count back from it.
	Newest int64 `json:"n"`
	// Tier is the tier the next page starts in.
	Tier int `json:"t"`
	// Last is the last hit of the page before, when it was in Tier: the next
	// page starts just after it.
	Last *SearchKey `json:"l,omitempty"`
}

// SearchKey is a hit's place in the order of its tier.
type SearchKey struct {
	Rank      float32 `json:"r"`
	ServerTs  int64   `json:"t"`
	SessionID string  `json:"s"`
	Seq       int64   `json:"q"`
}

// String renders the cursor as URL-safe text (unpadded base64url of JSON).
func (c SearchCursor) String() string {
	raw, _ := json.Marshal(c) // plain numbers and strings: never fails
	return base64.RawURLEncoding.EncodeToString(raw)
}

// ParseSearchCursor reads a cursor that String rendered. Its error matches
// ErrBadCursor for anything else.
func ParseSearchCursor(s string) (SearchCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return SearchCursor{}, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	var c SearchCursor
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return SearchCursor{}, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	if dec.InputOffset() != int64(len(raw)) {
		return SearchCursor{}, fmt.Errorf("%w: trailing data", ErrBadCursor)
	}
	if c.Tier < 0 || c.Tier > len(searchTiers) || (c.Last != nil && (c.Last.SessionID == "" || c.Last.Seq < 1)) {
		return SearchCursor{}, fmt.Errorf("%w: out of range", ErrBadCursor)
	}
	return c, nil
}
