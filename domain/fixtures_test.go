package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/events"
)

// t0 is an arbitrary server time, ms since the Unix epoch.
const t0 int64 = 1_700_000_000_000

// groupID is the id of the group session the tests create.
var groupID = domain.GroupSessionID(uuid.MustParse("6f1c2c43-3f65-4a8e-9a0e-2d8f4d3b1a10"))

// msgID returns a distinct, deterministic uuid for message n.
func msgID(n int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

// applyAll applies payloads at the stream versions following the state's.
func applyAll(s *domain.Session, ps ...events.Payload) {
	for _, p := range ps {
		s.Apply(s.Version+1, p)
	}
}

// groupSession returns a group owned by owner with the other members, created
// through DecideCreateGroup.
func groupSession(t *testing.T, p domain.Policy, owner string, members ...string) *domain.Session {
	t.Helper()
	s := domain.NewSession(groupID, p)
	evs, err := domain.DecideCreateGroup(s, p, domain.CreateGroupCommand{
		SessionID: groupID, Creator: owner, Title: "team", Members: members, Now: t0,
	})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	applyAll(s, evs...)
	return s
}

// directSession returns the existing direct session of a and b, created by a
// first message from a.
func directSession(t *testing.T, p domain.Policy, a, b string) *domain.Session {
	t.Helper()
	id, err := domain.DirectSessionID(a, b)
	if err != nil {
		t.Fatalf("direct session id: %v", err)
	}
	s := domain.NewSession(id, p)
	cmd := sendCmd(s, a, "first", t0)
	cmd.CreateDirect = true
	cmd.MessageID = msgID(0)
	mustSend(t, s, p, cmd)
	return s
}

// sendCmd returns a valid text send to s, with a message id derived from
// clientMessageID.
func sendCmd(s *domain.Session, sender, clientMessageID string, now int64) domain.SendCommand {
	return domain.SendCommand{
		SenderID:        sender,
		SessionID:       s.ID,
		MessageID:       uuid.NewSHA1(uuid.NameSpaceOID, []byte(sender+"/"+clientMessageID)).String(),
		MessageType:     1,
		Content:         "hello " + clientMessageID,
		ClientMessageID: clientMessageID,
		ClientTimestamp: now,
		Now:             now,
	}
}

// mustSend decides a send, applies its events and returns the result.
func mustSend(t *testing.T, s *domain.Session, p domain.Policy, cmd domain.SendCommand) domain.SendResult {
	t.Helper()
	res, evs, err := domain.DecideSend(s, p, cmd)
	if err != nil {
		t.Fatalf("send %q: %v", cmd.ClientMessageID, err)
	}
	applyAll(s, evs...)
	return res
}

// wantKind checks that err is a domain error of the given kind (0: no error).
func wantKind(t *testing.T, err error, kind domain.ErrorKind) {
	t.Helper()
	if kind == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error = %v, want a *domain.Error of kind %v", err, kind)
	}
	if de.Kind != kind {
		t.Fatalf("error kind = %v (%q), want %v", de.Kind, de.Reason, kind)
	}
	if de.Reason == "" {
		t.Fatalf("error of kind %v has no reason", kind)
	}
}
