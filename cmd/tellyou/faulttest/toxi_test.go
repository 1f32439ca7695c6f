package faulttest_test

import (
	"context"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// toxiServer is a Toxiproxy server run in the test process from its Go
// module: no binary, no HTTP API, the proxies are driven by calls. Its log
// is kept and shown only when the test fails.
type toxiServer struct {
	api  *toxiproxy.ApiServer
	logs *servertest.LogBuffer
}

func newToxiServer(t *testing.T) *toxiServer {
	t.Helper()
	logs := &servertest.LogBuffer{}
	s := &toxiServer{logs: logs,
		api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.New(logs).Level(zerolog.InfoLevel).With().Timestamp().Logger())}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("toxiproxy log (last lines):\n%s", logs.Tail(40))
		}
	})
	return s
}

// toxiProxy is one TCP proxy of a toxiServer: connections to Addr are
// relayed to the upstream through the toxics in place.
type toxiProxy struct {
	p *toxiproxy.Proxy
	// Addr is the proxy's loopback host:port; it stays the same when the
	// proxy is disabled and enabled again.
	Addr string
}

// proxy starts a proxy to upstream (host:port) on a free loopback port; it
// is stopped when the test ends.
func (s *toxiServer) proxy(t *testing.T, name, upstream string) *toxiProxy {
	t.Helper()
	p := toxiproxy.NewProxy(s.api, name, "127.0.0.1:0", upstream)
	if err := s.api.Collection.Add(p, true); err != nil {
		t.Fatalf("start proxy %s to %s: %v", name, upstream, err)
	}
	t.Cleanup(p.Stop)
	return &toxiProxy{p: p, Addr: p.Listen}
}

// toxic is a Toxiproxy toxic as its API takes it: the JSON of
// https://github.com/Shopify/toxiproxy#toxics, e.g.
// {"name":"lag","type":"latency","stream":"downstream","attributes":{"latency":200}}.
type toxic string

// add puts toxics on the proxy's connections, present and future.
func (x *toxiProxy) add(t *testing.T, toxics ...toxic) {
	t.Helper()
	for _, tx := range toxics {
		if _, err := x.p.Toxics.AddToxicJson(strings.NewReader(string(tx))); err != nil {
			t.Fatalf("proxy %s: add toxic %s: %v", x.p.Name, tx, err)
		}
	}
}

// clear removes every toxic from the proxy. A timeout toxic, on removal,
// closes the connections it held silent, as Toxiproxy does.
func (x *toxiProxy) clear() { x.p.Toxics.ResetToxics(context.Background()) }

// disable closes the proxy's listener and every connection through it: the
// peer is gone, connections are refused until enable.
func (x *toxiProxy) disable() { x.p.Stop() }

// enable listens again on the same address.
func (x *toxiProxy) enable(t *testing.T) {
	t.Helper()
	if err := x.p.Start(); err != nil {
		t.Fatalf("proxy %s: listen again on %s: %v", x.p.Name, x.Addr, err)
	}
}
