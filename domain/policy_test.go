package domain_test

import (
	"testing"
	"time"

	"github.com/tellyou/tellyou/domain"
)

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPolicy()
	want := domain.Policy{
		RecallWindow:      2 * time.Minute,
		EditWindow:        15 * time.Minute,
		MaxClockSkew:      60 * time.Second,
		DedupWindow:       24 * time.Hour,
		MaxContentBytes:   32768,
		MaxExtBytes:       4096,
		MaxGroupMembers:   1000,
		MaxTitleBytes:     200,
		MaxEmojiBytes:     32,
		MaxReactionEmojis: 20,
	}
	if p != want {
		t.Errorf("DefaultPolicy() = %+v, want %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("DefaultPolicy().Validate() = %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*domain.Policy)
		ok     bool
	}{
		{"default", func(*domain.Policy) {}, true},
		{"zero recall window", func(p *domain.Policy) { p.RecallWindow = 0 }, false},
		{"sub-millisecond recall window", func(p *domain.Policy) { p.RecallWindow = time.Microsecond }, false},
		{"negative skew", func(p *domain.Policy) { p.MaxClockSkew = -time.Second }, false},
		{"zero dedup window", func(p *domain.Policy) { p.DedupWindow = 0 }, false},
		{"dedup shorter than recall", func(p *domain.Policy) { p.DedupWindow = time.Second }, true},
		{"zero content", func(p *domain.Policy) { p.MaxContentBytes = 0 }, false},
		{"ext too small for {}", func(p *domain.Policy) { p.MaxExtBytes = 1 }, false},
		{"one-member groups", func(p *domain.Policy) { p.MaxGroupMembers = 1 }, false},
		{"two-member groups", func(p *domain.Policy) { p.MaxGroupMembers = 2 }, true},
		{"zero title", func(p *domain.Policy) { p.MaxTitleBytes = 0 }, false},
		{"zero edit window", func(p *domain.Policy) { p.EditWindow = 0 }, false},
		{"edit window shorter than recall", func(p *domain.Policy) { p.EditWindow = time.Second }, true},
		{"zero emoji", func(p *domain.Policy) { p.MaxEmojiBytes = 0 }, false},
		{"no reactions", func(p *domain.Policy) { p.MaxReactionEmojis = 0 }, false},
		{"zero value", func(p *domain.Policy) { *p = domain.Policy{} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := domain.DefaultPolicy()
			tt.change(&p)
			if err := p.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
