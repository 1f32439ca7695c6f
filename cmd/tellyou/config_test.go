package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnvReadsTheRequestTimeout(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]time.Duration{"": 10 * time.Second, "2s": 2 * time.Second, " 1m ": time.Minute} {
		c, err := configFromEnv(env(map[string]string{"TELLYOU_REQUEST_TIMEOUT": value}))
		if err != nil || c.RequestTimeout != want {
			t.Errorf("TELLYOU_REQUEST_TIMEOUT=%q: %v, %v; want %v", value, c.RequestTimeout, err, want)
		}
	}
	for _, value := range []string{"0s", "-1s", "soon"} {
		_, err := configFromEnv(env(map[string]string{"TELLYOU_REQUEST_TIMEOUT": value}))
		if err == nil || !strings.Contains(err.Error(), "TELLYOU_REQUEST_TIMEOUT") {
			t.Errorf("TELLYOU_REQUEST_TIMEOUT=%q: %v, want an error naming the variable", value, err)
		}
	}
}
