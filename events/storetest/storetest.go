// Package storetest is the conformance suite of events.Store, written once and
// run against every implementation (PostgreSQL, EventStoreDB, ...).
//
// It checks only the guarantees documented on events.Store, never one store's
// particulars: positions are compared, never computed; the global log is read
// until the expected events show up (a store may show committed events there
// later than ReadStream does), with generous timeouts that exist only to fail
// instead of hanging, never to assert speed. Every subtest names its streams
// with a random prefix and ignores other streams in the global log, so the
// suite also runs against a store that is not empty.
//
// A store's test runs it with a constructor of fresh stores:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) events.Store { ... })
//	}
package storetest

import (
	"testing"

	"github.com/tellyou/tellyou/events"
)

// Run runs the conformance suite. newStore is called once per subtest, from the
// subtest, and returns a fresh store; it should register its cleanup with
// t.Cleanup. Subtests run in parallel. Under testing.Short the concurrency test
// runs with fewer writers and events.
func Run(t *testing.T, newStore func(t *testing.T) events.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s events.Store)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"ReadStreamFromVersionWithLimit", testReadStreamFromVersionWithLimit},
		{"ReadStreamOfUnknownStream", testReadStreamOfUnknownStream},
		{"ExpectedVersionConflicts", testExpectedVersionConflicts},
		{"AnyVersionAlwaysAppends", testAnyVersionAlwaysAppends},
		{"RetriedAppendIsDuplicate", testRetriedAppendIsDuplicate},
		{"RetryOfEarlierAppendIsDuplicate", testRetryOfEarlierAppendIsDuplicate},
		{"EventIDInAnotherStream", testEventIDInAnotherStream},
		{"GlobalOrder", testGlobalOrder},
		{"SubscribeCatchesUpThenGoesLive", testSubscribeCatchesUpThenGoesLive},
		{"SubscribeStopsOnHandlerError", testSubscribeStopsOnHandlerError},
		{"SubscribeStopsOnCancel", testSubscribeStopsOnCancel},
		{"ConcurrentWritersAndLiveSubscriber", testConcurrentWritersAndLiveSubscriber},
		{"ConcurrentAnyVersionAppends", testConcurrentAnyVersionAppends},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t))
		})
	}
}
