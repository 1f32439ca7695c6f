package gateway_test

import (
	"context"
	"testing"

	"github.com/tellyou/tellyou/handlers/command"
)

// TestExpiryIsPushed: the members' open connections get an expired frame
// when their session's messages expire.
func TestExpiryIsPushed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ann, bob := e.connect(t, "ann"), e.connect(t, "bob")
	for _, id := range []string{"1", "2"} {
		if f := ann.request(sendTo(id, "bob", "soon gone")); f.Type != "sendAck" {
			t.Fatalf("send = %s", f.raw)
		}
	}
	bob.await("the second message", isMessage(2))
	expire, err := command.NewExpireHandler(e.Commands.Sessions)
	if err != nil {
		t.Fatal(err)
	}
	upTo, err := expire.Handle(context.Background(), command.Expire{Meta: command.RequestMeta{Actor: "system:retention"},
		SessionID: "d:ann:bob", UpToSeq: 1, Before: e.Clock.Now().UnixMilli() + 1})
	if err != nil || upTo != 1 {
		t.Fatalf("expire = %d, %v; want 1", upTo, err)
	}
	for name, c := range map[string]*client{"ann": ann, "bob": bob} {
		f := c.await("expired", isType("expired"))
		if f.SessionID != "d:ann:bob" || f.UpToSeq != 1 {
			t.Errorf("%s got %s, want the expiry of d:ann:bob up to 1", name, f.raw)
		}
	}
}
