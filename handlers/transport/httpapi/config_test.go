package httpapi_test

import (
	"strings"
	"testing"

	"github.com/tellyou/tellyou/handlers/transport/httpapi"
)

func TestNewRefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	_, err := httpapi.New(httpapi.Config{Secret: []byte("short"), MaxBodyBytes: -1, FeedKeepAlive: -1, FeedBatch: -1})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"Commands", "Queries", "Store", "Metrics", "Ready", "secret", "MaxBodyBytes", "FeedKeepAlive", "FeedBatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
