package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnvReadsTheRetention(t *testing.T) {
	t.Parallel()
	c, err := configFromEnv(env(map[string]string{}))
	if err != nil || c.RetentionDays != 0 || c.RetentionSweep != time.Minute {
		t.Fatalf("defaults: %d days, sweep %v, %v; want off and 1m", c.RetentionDays, c.RetentionSweep, err)
	}
	for value, want := range map[string]int{"30d": 30, "720h": 30, "off": 0, "1d": 1} {
		c, err := configFromEnv(env(map[string]string{"TELLYOU_RETENTION": value}))
		if err != nil || c.RetentionDays != want {
			t.Errorf("TELLYOU_RETENTION=%q: %d, %v; want %d", value, c.RetentionDays, err, want)
		}
	}
	for _, value := range []string{"12h", "1.5d", "30", "0d", "36501d", "a month"} {
		_, err := configFromEnv(env(map[string]string{"TELLYOU_RETENTION": value}))
		if err == nil || !strings.Contains(err.Error(), "TELLYOU_RETENTION") {
			t.Errorf("TELLYOU_RETENTION=%q: %v, want an error naming the variable", value, err)
		}
	}
	if c, err := configFromEnv(env(map[string]string{"TELLYOU_RETENTION_SWEEP": "5m"})); err != nil || c.RetentionSweep != 5*time.Minute {
		t.Errorf("TELLYOU_RETENTION_SWEEP=5m: %v, %v", c.RetentionSweep, err)
	}
	for _, value := range []string{"0s", "-1m", "10ms", "often"} {
		_, err := configFromEnv(env(map[string]string{"TELLYOU_RETENTION_SWEEP": value}))
		if err == nil || !strings.Contains(err.Error(), "TELLYOU_RETENTION_SWEEP") {
			t.Errorf("TELLYOU_RETENTION_SWEEP=%q: %v, want an error naming the variable", value, err)
		}
	}
}
