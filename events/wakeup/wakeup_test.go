package wakeup_test

import (
	"testing"
	"time"

	"github.com/tellyou/tellyou/events/wakeup"
)

// TestWakeReachesEveryWaiterOnce: a Wake closes the channels taken before
// it, and only those.
func TestWakeReachesEveryWaiterOnce(t *testing.T) {
	b := wakeup.New()
	before := []<-chan struct{}{b.Wait(), b.Wait(), b.Wait()}
	b.Wake()
	after := b.Wait()
	for i, ch := range before {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatalf("waiter %d taken before Wake was not woken", i)
		}
	}
	select {
	case <-after:
		t.Fatal("a channel taken after Wake is closed already")
	default:
	}
	b.Wake()
	select {
	case <-after:
	case <-time.After(time.Second):
		t.Fatal("the next Wake did not reach the later waiter")
	}
}
