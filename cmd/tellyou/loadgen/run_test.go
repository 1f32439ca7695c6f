package loadgen

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// callLog records the calls made on recordingParts, in the order the
// coordinator made them.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
}

// recordingPart is a part that only records its calls.
type recordingPart struct{ log *callLog }

func (p recordingPart) connect(context.Context, population) (connectResult, error) {
	p.log.add("connect")
	return connectResult{}, nil
}
func (p recordingPart) arm(context.Context) error { p.log.add("arm"); return nil }
func (p recordingPart) start(context.Context, sendSpec) error {
	p.log.add("start")
	return nil
}
func (p recordingPart) progress(context.Context) (progress, error) { return progress{}, nil }
func (p recordingPart) finish(context.Context) (*tally, error)     { return newTally(), nil }
func (p recordingPart) disconnect(context.Context) error           { return nil }
func (p recordingPart) close() error                               { return nil }

// A part whose counts were cleared after another part's first sends would
// lose the pushes those sends caused on its connections: every part is
// armed before any starts.
func TestEveryPartIsArmedBeforeAnyStarts(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	c := &coordinator{cfg: Config{Messages: 30}, conns: []int{3, 2, 2}}
	for range 3 {
		c.parts = append(c.parts, recordingPart{log: log})
	}
	if err := c.start(context.Background(), step{Index: 1, Users: 7, Fresh: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"arm", "arm", "arm", "start", "start", "start"}
	if !slices.Equal(log.calls, want) {
		t.Errorf("calls %v, want %v", log.calls, want)
	}
}
