package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tellyou/tellyou/events/pgstore/pgtest"
)

func TestDebugServerServesPprof(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newDebugServer(ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	base := "http://" + ln.Addr().String()
	body := debugGet(t, base+"/debug/pprof/", http.StatusOK)
	if !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ lists no goroutine profile: %.200q", body)
	}
	if body := debugGet(t, base+"/debug/pprof/goroutine?debug=1", http.StatusOK); !strings.Contains(body, "goroutine profile:") {
		t.Errorf("goroutine profile reads %.200q", body)
	}
	debugGet(t, base+"/", http.StatusNotFound) // only the profiles
}

// TestServeKeepsPprofOffThePublicListener runs serve with a debug address:
// the profiles are on it, the public listener does not serve them, and the
// debug server stops with the node.
func TestServeKeepsPprofOffThePublicListener(t *testing.T) {
	t.Parallel()
	cfg, err := configFromEnv(env(map[string]string{
		"TELLYOU_DATABASE_URL": pgtest.NewDatabase(t),
		"TELLYOU_JWT_SECRET":   "serve-test-secret-0123456789abcdef",
		"TELLYOU_DEBUG_ADDR":   freeLoopbackAddr(t),
	}))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.DiscardHandler), ln) }()
	n := &node{base: "http://" + ln.Addr().String()}
	n.waitReady(t)

	debugGet(t, "http://"+cfg.DebugAddr+"/debug/pprof/goroutine?debug=1", http.StatusOK)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		debugGet(t, n.base+path, http.StatusNotFound)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s")
	}
	if c, err := net.DialTimeout("tcp", cfg.DebugAddr, time.Second); err == nil {
		c.Close()
		t.Error("pprof still listening after serve returned")
	}
}

// freeLoopbackAddr returns a loopback address that was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func debugGet(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	if resp.StatusCode != want {
		t.Errorf("GET %s = %d, want %d", url, resp.StatusCode, want)
	}
	return string(body)
}
