package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tellyou/tellyou/domain"
)

func TestErrorIs(t *testing.T) {
	t.Parallel()
	forbidden := &domain.Error{Kind: domain.KindForbidden, Reason: "not a member of this session"}
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same kind sentinel", forbidden, domain.ErrForbidden, true},
		{"wrapped", fmt.Errorf("send: %w", forbidden), domain.ErrForbidden, true},
		{"other kind", forbidden, domain.ErrNotFound, false},
		{"target with reason", &domain.Error{Kind: domain.KindForbidden, Reason: "x"}, &domain.Error{Kind: domain.KindForbidden, Reason: "x"}, false},
		{"unknown message is not found", domain.ErrUnknownMessage, domain.ErrNotFound, true},
		{"unknown message is itself", fmt.Errorf("recall: %w", domain.ErrUnknownMessage), domain.ErrUnknownMessage, true},
		{"other not found is not unknown message", &domain.Error{Kind: domain.KindNotFound, Reason: "session not found"}, domain.ErrUnknownMessage, false},
		{"plain error", errors.New("boom"), domain.ErrInvalid, false},
		{"conflict", &domain.Error{Kind: domain.KindConflict, Reason: "exists"}, domain.ErrConflict, true},
		{"invalid", &domain.Error{Kind: domain.KindInvalid, Reason: "bad"}, domain.ErrInvalid, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *domain.Error
		want string
	}{
		{&domain.Error{Kind: domain.KindForbidden, Reason: "only the owner changes members"}, "only the owner changes members"},
		{domain.ErrNotFound, "not found"},
		{domain.ErrInvalid, "invalid"},
		{domain.ErrForbidden, "forbidden"},
		{domain.ErrConflict, "conflict"},
		{&domain.Error{}, "unknown error kind"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
