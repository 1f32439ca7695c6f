package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeleteNATSStreams removes a test's JetStream streams from the NATS server at
// 127.0.0.1:4222, reporting failures as test errors.
func DeleteNATSStreams(t testing.TB, streams ...string) {
	t.Helper()
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Errorf("connect to NATS to delete the test streams: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range streams {
		if err := js.DeleteStream(ctx, s); err != nil {
			t.Errorf("delete stream %s: %v", s, err)
		}
	}
}
