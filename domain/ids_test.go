package domain_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestValidUserID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"alice", true},
		{"A.b_c-9", true},
		{"x", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"al ice", false},
		{"a:b", false},
		{"bob@example", false},
		{"é", false},
		{"a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			if got := domain.ValidUserID(tt.id); got != tt.want {
				t.Errorf("ValidUserID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestDirectSessionID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want string
		kind domain.ErrorKind
	}{
		{"ordered", "alice", "bob", "d:alice:bob", 0},
		{"reversed", "bob", "alice", "d:alice:bob", 0},
		{"byte order puts upper case first", "alice", "Bob", "d:Bob:alice", 0},
		{"same user", "alice", "alice", "", domain.KindInvalid},
		{"invalid first", "al:ice", "bob", "", domain.KindInvalid},
		{"invalid second", "alice", "", "", domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DirectSessionID(tt.a, tt.b)
			wantKind(t, err, tt.kind)
			if got != tt.want {
				t.Errorf("DirectSessionID(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestSessionKind(t *testing.T) {
	t.Parallel()
	u := uuid.MustParse("6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10")
	tests := []struct {
		id   string
		want string
		kind domain.ErrorKind
	}{
		{"d:alice:bob", events.KindDirect, 0},
		{domain.GroupSessionID(u), events.KindGroup, 0},
		{"g:6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10", events.KindGroup, 0},
		{"d:bob:alice", "", domain.KindInvalid},
		{"d:alice:alice", "", domain.KindInvalid},
		{"d:alice", "", domain.KindInvalid},
		{"d:alice:bob:carol", "", domain.KindInvalid},
		{"d::bob", "", domain.KindInvalid},
		{"d:al ice:bob", "", domain.KindInvalid},
		{"g:not-a-uuid", "", domain.KindInvalid},
		{"g:6F1C2C43-3F65-4A8E-9A0E-2D8F4D3B1A10", "", domain.KindInvalid},
		{"g:{6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10}", "", domain.KindInvalid},
		{"g:6f1c2c433f654a8e9a0e2d8f4d3b1a10", "", domain.KindInvalid},
		{"g:", "", domain.KindInvalid},
		{"x:alice:bob", "", domain.KindInvalid},
		{"alice", "", domain.KindInvalid},
		{"", "", domain.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			got, err := domain.SessionKind(tt.id)
			wantKind(t, err, tt.kind)
			if got != tt.want {
				t.Errorf("SessionKind(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestGroupSessionID(t *testing.T) {
	t.Parallel()
	u := uuid.MustParse("6F1C2C43-3F65-4A8E-9A0E-2D8F4D3B1A10")
	if got, want := domain.GroupSessionID(u), "g:6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10"; got != want {
		t.Errorf("GroupSessionID = %q, want %q", got, want)
	}
}

func TestDirectPeer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sessionID, userID string
		want                    string
		ok                      bool
	}{
		{"first user", "d:alice:bob", "alice", "bob", true},
		{"second user", "d:alice:bob", "bob", "alice", true},
		{"outsider", "d:alice:bob", "carol", "", false},
		{"group", groupID, "alice", "", false},
		{"unordered id", "d:bob:alice", "alice", "", false},
		{"malformed", "d:alice", "alice", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := domain.DirectPeer(tt.sessionID, tt.userID)
			if got != tt.want || ok != tt.ok {
				t.Errorf("DirectPeer(%q, %q) = %q, %v; want %q, %v", tt.sessionID, tt.userID, got, ok, tt.want, tt.ok)
			}
		})
	}
}
