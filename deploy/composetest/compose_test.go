package composetest_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadProject loads docker-compose.yml as `docker compose` would, validating
// it against the Compose schema, with env as the only environment (the
// test's own environment never leaks in).
func loadProject(t *testing.T, root string, env ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// nodes are the services built from the repository's Dockerfile: the
// tellyou nodes.
func nodes(t *testing.T, p *types.Project, root string) []types.ServiceConfig {
	t.Helper()
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil {
			continue
		}
		if filepath.Clean(s.Build.Context) != root || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("service %s builds %s/%s, want the repository's Dockerfile", name, s.Build.Context, s.Build.Dockerfile)
		}
		out = append(out, s)
	}
	if len(out) < 2 {
		t.Fatalf("%d tellyou nodes (services with build:), want at least 2 to show scale-out", len(out))
	}
	return out
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func TestComposeRunsTheStack(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	p := loadProject(t, root)
	for name, image := range map[string]string{
		"postgres":   "postgres:15",
		"eventstore": "eventstore/eventstore:2",
		"nats":       "nats:2",
		"lb":         "caddy:2",
	} {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if !strings.HasPrefix(s.Image, image) {
			t.Errorf("service %s image %q, want %s*", name, s.Image, image)
		}
	}
	nodes(t, p, root)
	if nats := p.Services["nats"]; !slices.Contains(nats.Command, "-js") {
		t.Errorf("nats command %q lacks -js: the bus needs JetStream", nats.Command)
	}
	es := p.Services["eventstore"]
	for k, want := range map[string]string{"EVENTSTORE_INSECURE": "true", "EVENTSTORE_CLUSTER_SIZE": "1", "EVENTSTORE_RUN_PROJECTIONS": "None"} {
		if got := env(es, k); got != want {
			t.Errorf("eventstore %s = %q, want %q", k, got, want)
		}
	}
}

func TestNodesSetOnlyVariablesTheServerReads(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	known := knownVariables(t, root)
	p := loadProject(t, root)
	for _, s := range nodes(t, p, root) {
		for k := range s.Environment {
			if !known[k] {
				t.Errorf("service %s sets %s, which cmd/tellyou/config.go does not read", s.Name, k)
			}
		}
		for _, k := range []string{"TELLYOU_DATABASE_URL", "TELLYOU_EVENTSTORE", "TELLYOU_BUS", "TELLYOU_JWT_SECRET"} {
			if env(s, k) == "" {
				t.Errorf("service %s does not set %s", s.Name, k)
			}
		}
	}
}

// Every node must accept tokens minted by any other, so the secret is one
// value for all, long enough for config, and taken from the environment.
func TestNodesShareTheJWTSecret(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"placeholder when unset", nil, ""},
		{"from the environment", []string{"TELLYOU_JWT_SECRET=0123456789abcdef0123456789abcdef"}, "0123456789abcdef0123456789abcdef"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := loadProject(t, root, tc.env...)
			secrets := map[string]bool{}
			for _, s := range nodes(t, p, root) {
				secret := env(s, "TELLYOU_JWT_SECRET")
				if len(secret) < 16 {
					t.Errorf("service %s: TELLYOU_JWT_SECRET is %d bytes, the server wants at least 16", s.Name, len(secret))
				}
				if tc.want != "" && secret != tc.want {
					t.Errorf("service %s: TELLYOU_JWT_SECRET = %q, want the environment's %q", s.Name, secret, tc.want)
				}
				secrets[secret] = true
			}
			if len(secrets) != 1 {
				t.Errorf("the nodes use %d different JWT secrets, want one", len(secrets))
			}
		})
	}
}

// The URLs the nodes are given name services of this file, on the ports
// those services listen on, and the nodes start only once each is healthy.
func TestNodesReachHealthyServices(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	p := loadProject(t, root, "POSTGRES_PASSWORD=s3cret")
	for _, s := range nodes(t, p, root) {
		for _, target := range []struct{ variable, scheme, port string }{
			{"TELLYOU_DATABASE_URL", "postgres", "5432"},
			{"TELLYOU_EVENTSTORE", "esdb", "2113"},
			{"TELLYOU_BUS", "nats", "4222"},
		} {
			u, err := url.Parse(env(s, target.variable))
			if err != nil {
				t.Errorf("service %s %s: %v", s.Name, target.variable, err)
				continue
			}
			if u.Scheme != target.scheme || u.Port() != target.port {
				t.Errorf("service %s %s = %s, want %s://<service>:%s", s.Name, target.variable, u, target.scheme, target.port)
			}
			dep, ok := p.Services[u.Hostname()]
			if !ok {
				t.Errorf("service %s %s names host %q, which is no service here", s.Name, target.variable, u.Hostname())
				continue
			}
			if c := s.DependsOn[dep.Name].Condition; c != types.ServiceConditionHealthy {
				t.Errorf("service %s depends on %s with condition %q, want %s", s.Name, dep.Name, c, types.ServiceConditionHealthy)
			}
			if dep.HealthCheck == nil || dep.HealthCheck.Disable || len(dep.HealthCheck.Test) == 0 {
				t.Errorf("service %s has no healthcheck, so service_healthy never holds", dep.Name)
			}
			if dep.Name == "postgres" {
				pw, _ := u.User.Password()
				if want := env(dep, "POSTGRES_PASSWORD"); pw != want || pw != "s3cret" {
					t.Errorf("service %s connects with password %q, postgres has %q, the environment gave s3cret", s.Name, pw, want)
				}
			}
		}
	}
}

// The load balancer is the one way in, and sends traffic to every node on
// the port the image listens on, checking /readyz.
func TestLoadBalancerReachesEveryNode(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	p := loadProject(t, root)
	lb := p.Services["lb"]
	if len(lb.Ports) == 0 {
		t.Fatal("the lb service publishes no port")
	}
	var caddyfile string
	for _, v := range lb.Volumes {
		if v.Target == "/etc/caddy/Caddyfile" {
			if _, err := os.Stat(v.Source); err != nil {
				t.Fatalf("lb mounts %s: %v", v.Source, err)
			}
			caddyfile = readFile(t, v.Source)
		}
	}
	if caddyfile == "" {
		t.Fatal("the lb service mounts no /etc/caddy/Caddyfile")
	}
	port := listenPort(t, parseDockerfile(t, root))
	for _, s := range nodes(t, p, root) {
		if !strings.Contains(caddyfile, s.Name+":"+port) {
			t.Errorf("the Caddyfile does not route to %s:%s", s.Name, port)
		}
		if len(s.Ports) != 0 {
			t.Errorf("node %s publishes ports %v; clients should come through the lb", s.Name, s.Ports)
		}
	}
	if !strings.Contains(caddyfile, "health_uri /readyz") {
		t.Error("the Caddyfile does not check /readyz")
	}
}
