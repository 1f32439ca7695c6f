package domain_test

import (
	"math"
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
)

func TestAdjustTimestamp(t *testing.T) {
	t.Parallel()
	const skew = 60 * time.Second
	tests := []struct {
		name           string
		client, server int64
		maxSkew        time.Duration
		want           int64
	}{
		{"equal", t0, t0, skew, t0},
		{"client behind within", t0 - 30_000, t0, skew, t0 - 30_000},
		{"client ahead within", t0 + 30_000, t0, skew, t0 + 30_000},
		{"behind at the limit", t0 - 60_000, t0, skew, t0 - 60_000},
		{"ahead at the limit", t0 + 60_000, t0, skew, t0 + 60_000},
		{"behind past the limit", t0 - 60_001, t0, skew, t0},
		{"ahead past the limit", t0 + 60_001, t0, skew, t0},
		{"absent", 0, t0, skew, t0},
		{"negative", -5, t0, skew, t0},
		{"zero skew exact", t0, t0, 0, t0},
		{"zero skew off by one", t0 + 1, t0, 0, t0},
		{"negative skew", t0, t0, -time.Second, t0},
		{"huge client", math.MaxInt64, t0, skew, t0},
		{"near the top", math.MaxInt64 - 1, math.MaxInt64 - 10, skew, math.MaxInt64 - 1},
		{"negative server", 1, math.MinInt64, skew, math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.AdjustTimestamp(tt.client, tt.server, tt.maxSkew); got != tt.want {
				t.Errorf("AdjustTimestamp(%d, %d, %v) = %d, want %d", tt.client, tt.server, tt.maxSkew, got, tt.want)
			}
		})
	}
}
