package ws

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAwaitDeadline(t *testing.T) {
	t.Parallel()
	closed := make(chan struct{})
	close(closed)
	never := make(chan struct{})

	// Done before the deadline: no error.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := awaitDeadline(ctx, closed); err != nil {
		t.Fatalf("done command = %v", err)
	}

	// The deadline passes first: answered at it.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := awaitDeadline(ctx, never); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("command past its deadline = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("answered %v after a 20ms deadline", took)
	}

	// Done and past the deadline at once: the command's own answer wins.
	ctx, cancel = context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	if err := awaitDeadline(ctx, closed); err != nil {
		t.Fatalf("done command past its deadline = %v", err)
	}

	// Cancelled (the connection is gone): it waits for the command.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	later := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(later) })
	if err := awaitDeadline(ctx, later); err != nil {
		t.Fatalf("cancelled frame = %v", err)
	}
	select {
	case <-later:
	default:
		t.Fatal("awaitDeadline returned on cancel before the command was done")
	}
}
