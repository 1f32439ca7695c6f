package domain_test

import (
	"errors"
	"testing"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

func TestDecideErase(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		cmd     domain.EraseCommand
		want    events.UserErased
		wantErr error
	}{
		{"the user themself", domain.EraseCommand{Actor: "ann", UserID: "ann", Now: 5},
			events.UserErased{UserID: "ann", By: "ann", ErasedAt: 5}, nil},
		{"an admin", domain.EraseCommand{Actor: "ops", ActorIsAdmin: true, UserID: "ann", Now: 6},
			events.UserErased{UserID: "ann", By: "ops", ErasedAt: 6}, nil},
		{"a user never seen, by an admin", domain.EraseCommand{Actor: "ops", ActorIsAdmin: true, UserID: "ghost", Now: 7},
			events.UserErased{UserID: "ghost", By: "ops", ErasedAt: 7}, nil},
		{"another user", domain.EraseCommand{Actor: "eve", UserID: "ann"}, events.UserErased{}, domain.ErrForbidden},
		{"a malformed id", domain.EraseCommand{Actor: "ops", ActorIsAdmin: true, UserID: "u:ann"}, events.UserErased{}, domain.ErrInvalid},
		{"no id", domain.EraseCommand{Actor: "", UserID: ""}, events.UserErased{}, domain.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.DecideErase(tt.cmd)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("DecideErase(%+v) error = %v, want %v", tt.cmd, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("DecideErase(%+v) = %+v, want %+v", tt.cmd, got, tt.want)
			}
		})
	}
}
