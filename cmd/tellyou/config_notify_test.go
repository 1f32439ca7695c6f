package main

import (
	"strings"
	"testing"
	"time"
)

func TestNotifySettings(t *testing.T) {
	t.Parallel()
	const secret = "whsec_c2VjcmV0IGtleSBvZiB0aGUgZ2F0ZXdheQ=="
	cfg, err := configFromEnv(env(map[string]string{}))
	if err != nil || cfg.NotifyURL != "" || cfg.NotifyTimeout != 10*time.Second || cfg.NotifyMaxAttempts != 8 {
		t.Fatalf("defaults: %+v, %v; want notifications off, 10s, 8 attempts", cfg, err)
	}
	cfg, err = configFromEnv(env(map[string]string{"TELLYOU_NOTIFY_URL": "https://push.example/hook", "TELLYOU_NOTIFY_SECRET": secret,
		"TELLYOU_NOTIFY_TIMEOUT": "3s", "TELLYOU_NOTIFY_MAX_ATTEMPTS": "4"}))
	if err != nil || cfg.NotifyURL != "https://push.example/hook" || cfg.NotifySecret != secret ||
		cfg.NotifyTimeout != 3*time.Second || cfg.NotifyMaxAttempts != 4 {
		t.Fatalf("set: %+v, %v", cfg, err)
	}
	for name, c := range map[string]struct{ vars map[string]string }{
		"URL without a secret":  {map[string]string{"TELLYOU_NOTIFY_URL": "https://push.example/hook"}},
		"secret without whsec_": {map[string]string{"TELLYOU_NOTIFY_URL": "https://push.example/hook", "TELLYOU_NOTIFY_SECRET": "c2VjcmV0"}},
		"not an http URL":       {map[string]string{"TELLYOU_NOTIFY_URL": "push.example", "TELLYOU_NOTIFY_SECRET": secret}},
		"bad timeout":           {map[string]string{"TELLYOU_NOTIFY_TIMEOUT": "soon"}},
		"zero attempts":         {map[string]string{"TELLYOU_NOTIFY_MAX_ATTEMPTS": "0"}},
	} {
		if _, err := configFromEnv(env(c.vars)); err == nil || !strings.Contains(err.Error(), "NOTIFY") {
			t.Errorf("%s: error %v, want one naming the setting", name, err)
		}
	}
}
