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

// Features tells where stores may differ; the suite skips the checks of a
// feature a store does not have. Every other check is the same for all.
type Features struct {
	// GlobalEventIDs: reusing an event id in another stream is refused with an
	// error matching events.ErrDuplicateEventID. PostgreSQL: yes; EventStoreDB:
	// no (ids are unique per stream only).
	GlobalEventIDs bool
}

// StreamPrefix begins the id of every stream the suite writes (a random part
// follows), so that a store whose global log is restricted to some streams
// can be configured to include the suite's.
const StreamPrefix = "storetest-"

// Run runs the conformance suite with every feature: the PostgreSQL store's.
// See RunWithFeatures.
func Run(t *testing.T, newStore func(t *testing.T) events.Store) {
	RunWithFeatures(t, newStore, Features{GlobalEventIDs: true})
}

// RunWithFeatures runs the conformance suite, skipping the checks of the
// features the store lacks. newStore is called once per subtest, from the
// subtest, and returns a fresh store; it should register its cleanup with
// t.Cleanup. Subtests run in parallel. Under testing.Short the concurrency
// tests run with fewer writers and events.
func RunWithFeatures(t *testing.T, newStore func(t *testing.T) events.Store, features Features) {
	tests := []struct {
		name    string
		test    func(t *testing.T, s events.Store)
		feature bool
	}{
		{"AppendAndReadBack", testAppendAndReadBack, true},
		{"ReadStreamFromVersionWithLimit", testReadStreamFromVersionWithLimit, true},
		{"ReadStreamOfUnknownStream", testReadStreamOfUnknownStream, true},
		{"ExpectedVersionConflicts", testExpectedVersionConflicts, true},
		{"AnyVersionAlwaysAppends", testAnyVersionAlwaysAppends, true},
		{"RetriedAppendIsDuplicate", testRetriedAppendIsDuplicate, true},
		{"RetryOfEarlierAppendIsDuplicate", testRetryOfEarlierAppendIsDuplicate, true},
		{"EventIDInAnotherStream", testEventIDInAnotherStream, features.GlobalEventIDs},
		{"GlobalOrder", testGlobalOrder, true},
		{"SubscribeCatchesUpThenGoesLive", testSubscribeCatchesUpThenGoesLive, true},
		{"SubscribeStopsOnHandlerError", testSubscribeStopsOnHandlerError, true},
		{"SubscribeStopsOnCancel", testSubscribeStopsOnCancel, true},
		{"ConcurrentWritersAndLiveSubscriber", testConcurrentWritersAndLiveSubscriber, true},
		{"ConcurrentAnyVersionAppends", testConcurrentAnyVersionAppends, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.feature {
				t.Skip("the store does not have this feature (see storetest.Features)")
			}
			t.Parallel()
			tc.test(t, newStore(t))
		})
	}
}
