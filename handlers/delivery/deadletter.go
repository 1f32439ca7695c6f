package delivery

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
)

// DefaultDeadLetterTopic is the topic of the events the hub gave up on.
//
// A dead letter's UUID is the event id and its payload the event as auditors
// see it (eventview); its metadata holds why it was given up on, under
// middleware.ReasonForPoisonedKey ("reason_poisoned"), as watermill's
// poison queue writes it. The session's members lost a push, never a
// message: sync and the HTTP pull read the log's projections.
const DefaultDeadLetterTopic = "tellyou.push.deadletter"

// deadLetter hands an event the hub gave up on to Config.DeadLetters, when
// there is one, then logs and counts it. A dead letter that cannot be stored
// is logged too: delivery goes on.
func (h *Hub) deadLetter(e *event, reason error) {
	durable := h.cfg.DeadLetters != nil
	if durable {
		payload, err := eventview.Marshal(events.RecordedEvent{StreamID: e.streamID, Version: e.version,
			Position: e.position, EventID: e.id, Type: e.typ, Data: e.data, Metadata: e.rawMeta})
		if err == nil {
			m := message.NewMessage(e.id.String(), payload)
			m.Metadata.Set(middleware.ReasonForPoisonedKey, reason.Error())
			err = h.cfg.DeadLetters.Publish(DefaultDeadLetterTopic, m)
		}
		if err != nil {
			durable = false
			h.cfg.Logger.Error("delivery: cannot store a dead letter", "id", e.id, "err", err)
		}
	}
	h.cfg.Metrics.DeadLetters.Inc()
	h.cfg.Logger.Error("delivery: gave up pushing an event; dead-lettered it",
		"id", e.id, "stream", e.streamID, "version", e.version, "durable", durable, "reason", reason)
}
