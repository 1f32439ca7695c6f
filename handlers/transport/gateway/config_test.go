package gateway_test

import (
	"testing"

	"github.com/tellyou/tellyou/events/pgstore"
	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/gateway"
)

func TestNewRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	good := gateway.Config{Commands: &command.Commands{}, Queries: &query.Queries{}, Store: &pgstore.Store{},
		Secret: []byte("gateway-test-secret-0123456789"), Metrics: metrics.New()}
	if _, err := gateway.New(good); err != nil {
		t.Fatalf("New: %v", err)
	}
	cases := map[string]func(*gateway.Config){
		"commands": func(c *gateway.Config) { c.Commands = nil },
		"queries":  func(c *gateway.Config) { c.Queries = nil },
		"store":    func(c *gateway.Config) { c.Store = nil },
		"metrics":  func(c *gateway.Config) { c.Metrics = nil },
		"secret":   func(c *gateway.Config) { c.Secret = nil },
	}
	for name, breakIt := range cases {
		cfg := good
		breakIt(&cfg)
		if _, err := gateway.New(cfg); err == nil {
			t.Errorf("New without %s succeeded", name)
		}
	}
}
