package esdbstore_test

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/esdbstore"
	"github.com/tellyou/tellyou/events/storetest"
)

// TestStore runs the conformance suite against the EventStoreDB server of
// TELLYOU_TEST_ESDB_URL. The suite tolerates a shared, non-empty server: its
// streams have random names under storetest.StreamPrefix, which the store's
// filter admits to the global log.
func TestStore(t *testing.T) {
	url := os.Getenv("TELLYOU_TEST_ESDB_URL")
	if url == "" {
		t.Skip("TELLYOU_TEST_ESDB_URL is not set: set it to an EventStoreDB server (e.g. esdb://127.0.0.1:2113?tls=false) to run the conformance suite")
	}
	t.Parallel()
	storetest.RunWithFeatures(t, func(t *testing.T) events.Store {
		s, err := esdbstore.New(t.Context(), url, esdbstore.Config{
			StreamFilter: "^" + regexp.QuoteMeta(storetest.StreamPrefix),
			Logger:       slog.New(slog.NewTextHandler(testLog{t}, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}, storetest.Features{GlobalEventIDs: false})
}

func TestNewRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url string
		cfg esdbstore.Config
	}{
		"not an esdb url":  {url: "postgres://localhost/x"},
		"bad stream regex": {url: "esdb://127.0.0.1:2113?tls=false", cfg: esdbstore.Config{StreamFilter: "("}},
		"negative delay":   {url: "esdb://127.0.0.1:2113?tls=false", cfg: esdbstore.Config{ResubscribeDelay: -1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if s, err := esdbstore.New(t.Context(), tc.url, tc.cfg); err == nil {
				s.Close()
				t.Fatalf("New(%q, %+v) succeeded, want an error", tc.url, tc.cfg)
			}
		})
	}
}

// testLog sends a store's log to the test's log.
type testLog struct{ tb testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
