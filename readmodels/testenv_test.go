package readmodels_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tellyou/tellyou/projections"
	"github.com/tellyou/tellyou/projections/projectiontest"
	"github.com/tellyou/tellyou/readmodels"
)

// newEnv returns a fresh database with a projection runner following it, and
// the queries over it.
func newEnv(t *testing.T) (*projectiontest.Env, *readmodels.Queries) {
	t.Helper()
	env := projectiontest.New(t)
	env.StartRunner(projections.RunnerConfig{})
	return env, readmodels.New(env.Pool)
}

var ctx = context.Background()

func seqs(msgs []readmodels.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func wantSeqs(t *testing.T, what string, got []readmodels.Message, want []int64) {
	t.Helper()
	if g := seqs(got); !slices.Equal(g, want) {
		t.Errorf("%s: seqs %v, want %v", what, g, want)
	}
}
