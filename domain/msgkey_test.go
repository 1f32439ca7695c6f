package domain_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
)

// messageIDForms are message ids around the canonical uuid form.
var messageIDForms = []string{
	"6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10",
	"00000000-0000-0000-0000-000000000000",
	"ffffffff-ffff-ffff-ffff-ffffffffffff",
	"6F1C2C43-3F65-4A8E-9A0E-2D8F4D3B1A10",
	"6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a1",
	"6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a100",
	"6f1c2c43+3f65-4a8e-9a0e-2d8f4d3b1a10",
	"6f1c2c433f65-4a8e-9a0e-2d8f4d3b1a10-",
	"6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a1g",
	"{6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10}",
	"urn:uuid:6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10",
	"6f1c2c433f654a8e9a0e2d8f4d3b1a10",
	"",
	"m-1",
}

// checkMessageIDForm decides a send with the given message id: DecideSend
// accepts exactly the ids that the uuid package parses and prints back
// unchanged, and a retry of an accepted send answers with the same text.
func checkMessageIDForm(t *testing.T, id string) {
	p := domain.DefaultPolicy()
	s := groupSession(t, p, "alice")
	cmd := sendCmd(s, "alice", "c1", t0)
	cmd.MessageID = id
	u, err := uuid.Parse(id)
	want := err == nil && u.String() == id
	_, evs, err := domain.DecideSend(s, p, cmd)
	if (err == nil) != want {
		t.Fatalf("send with message id %q: error %v, want accepted=%v", id, err, want)
	}
	if !want {
		return
	}
	applyAll(s, evs...)
	cmd.MessageID = uuid.NewString()
	res, _, err := domain.DecideSend(s, p, cmd)
	if err != nil || !res.Duplicate || res.MessageID != id {
		t.Fatalf("retry = %+v, %v; want a duplicate of %q", res, err, id)
	}
}

func TestSendMessageIDForms(t *testing.T) {
	t.Parallel()
	for _, id := range messageIDForms {
		t.Run(strings.ReplaceAll(id, "/", "_"), func(t *testing.T) {
			t.Parallel()
			checkMessageIDForm(t, id)
		})
	}
}

func FuzzSendMessageID(f *testing.F) {
	for _, id := range messageIDForms {
		f.Add(id)
	}
	f.Fuzz(checkMessageIDForm)
}
