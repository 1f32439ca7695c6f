package ws_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/ws"
)

// TestAPushRightAfterTheUpgradeArrives: a connection is registered with the
// hub before the client sees the upgrade's answer, so a message committed
// the moment the client's dial returns is pushed to it.
func TestAPushRightAfterTheUpgradeArrives(t *testing.T) {
	e := newPushEnv(t, ws.Limits{}, "bob")
	for seq := int64(1); seq <= 30; seq++ {
		c := e.dialOnly(t, "bob", 1<<16)
		e.push(t, seq, "right after the upgrade")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, data, err := c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("connection %d: no push of the message committed after its upgrade: %v", seq, err)
		}
		var f struct {
			Type    string `json:"type"`
			Message struct {
				Seq int64 `json:"seq"`
			} `json:"message"`
		}
		if err := json.Unmarshal(data, &f); err != nil || f.Type != "message" || f.Message.Seq != seq {
			t.Fatalf("connection %d: first frame %s, want the message of seq %d", seq, data, seq)
		}
		_ = c.CloseNow()
	}
}
