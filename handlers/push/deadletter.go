package push

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// DefaultDeadLetterTopic is the topic of the events the hub gave up on.
//
// A dead letter is the bus message of such an event: its UUID is the event id
// and its payload the event as auditors see it (wire.AuditEvent), as the
// Follower published it. The dead-letter queue adds to its metadata why it was
// given up on, under middleware.ReasonForPoisonedKey ("reason_poisoned"), and
// the topic and handler it failed in. The session's members lost a push,
// never a message: sync and the HTTP pull read the log's projections.
const DefaultDeadLetterTopic = "tellyou.push.deadletter"

// deadLetterPublisher is what the dead-letter queue publishes to: it hands the
// dead letters to Options.DeadLetters, when there is one, then logs and counts
// each. An error (the dead-letter store is unreachable too) fails the
// event's handling, and the bus delivers it again.
type deadLetterPublisher struct{ hub *Hub }

func (p deadLetterPublisher) Publish(topic string, msgs ...*message.Message) error {
	durable := p.hub.cfg.DeadLetters != nil
	if durable {
		if err := p.hub.cfg.DeadLetters.Publish(topic, msgs...); err != nil {
			return fmt.Errorf("publish dead letter on %s: %w", topic, err)
		}
	}
	for _, m := range msgs {
		p.hub.cfg.Metrics.DeadLetters.Inc()
		p.hub.cfg.Logger.Error("push hub: gave up pushing an event; dead-lettered it",
			"id", m.UUID, "topic", topic, "durable", durable, "reason", m.Metadata.Get(middleware.ReasonForPoisonedKey))
	}
	return nil
}

// Close does nothing: Options.DeadLetters belongs to the caller.
func (deadLetterPublisher) Close() error { return nil }
