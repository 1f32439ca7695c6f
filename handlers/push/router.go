package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Names of the hub's router handlers, as dead letters record them
// (middleware.PoisonedHandlerKey).
const (
	eventsHandlerName = "tellyou.push.events"
	typingHandlerName = "tellyou.push.typing"
)

// routerCloseTimeout bounds how long the router waits, once the hub stops, for
// the event being handled.
const routerCloseTimeout = 5 * time.Second

// hubRouter is the watermill Router that feeds the hub, and its two handlers.
type hubRouter struct {
	*message.Router
	events, typing *message.Handler
}

// newRouter routes the events topic to handleEvent through, outermost first:
// the dead-letter queue (middleware.PoisonQueue), stopping (so that a hub
// that stops dead-letters nothing), middleware.Retry and
// middleware.Recoverer (a panic is a failure like any other). The typing
// topic goes to handleTyping with only the Recoverer: a typing notice is
// worth neither a retry nor a dead letter.
func (h *Hub) newRouter() (*hubRouter, error) {
	logger := watermill.NewSlogLoggerWithLevelMapping(h.cfg.Logger,
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: routerCloseTimeout}, logger)
	if err != nil {
		return nil, fmt.Errorf("push hub router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(deadLetterPublisher{hub: h}, h.cfg.DeadLetterTopic,
		func(err error) bool { return !errors.Is(err, context.Canceled) })
	if err != nil {
		return nil, fmt.Errorf("push hub dead-letter queue: %w", err)
	}
	retry := middleware.Retry{
		MaxRetries:      h.cfg.MaxRetries,
		InitialInterval: h.cfg.RetryInterval,
		MaxInterval:     8 * h.cfg.RetryInterval,
		Multiplier:      2,
	}
	sub := sharedSubscriber{h.cfg.Subscriber}
	events := r.AddConsumerHandler(eventsHandlerName, h.cfg.EventsTopic, sub, h.handleEvent)
	events.AddMiddleware(poison, stopping, retry.Middleware, middleware.Recoverer)
	typing := r.AddConsumerHandler(typingHandlerName, h.cfg.TypingTopic, sub, h.handleTyping)
	typing.AddMiddleware(middleware.Recoverer)
	return &hubRouter{Router: r, events: events, typing: typing}, nil
}

// run runs the router until ctx ends and every handler has returned.
func (r *hubRouter) run(ctx context.Context) error {
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("push hub: %w", err)
	}
	return nil
}

// stopping marks a failure that comes while the hub is stopping (the
// message's context is done) as context.Canceled, which the dead-letter
// queue lets through: the event was not given up on, the hub just stopped.
func stopping(next message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := next(msg)
		if err != nil && msg.Context().Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w while stopping: %w", err, context.Canceled)
		}
		return out, err
	}
}

// sharedSubscriber keeps the router from closing a subscriber the hub does
// not own (a router closes its handlers' subscribers when it stops). The
// hub's subscriptions end with its context instead.
type sharedSubscriber struct{ message.Subscriber }

func (sharedSubscriber) Close() error { return nil }
