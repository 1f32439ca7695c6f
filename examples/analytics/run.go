package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/tellyou/tellyou/handlers/feedbus"
)

// config is what the consumer needs.
type config struct {
	NATSURL string        // -nats
	Topic   string        // -topic
	Durable string        // -durable: the consumer's name on the server
	Every   time.Duration // -every: how often the table is printed
	AckWait time.Duration // -ack-wait: redelivery of an unacked message
}

func (c config) validate() error {
	if c.Every <= 0 {
		return fmt.Errorf("-every %s: want a positive duration", c.Every)
	}
	return feedbus.ValidateTopic(c.Topic)
}

// run reads the feed as the durable consumer cfg.Durable until ctx ends,
// prints the counts to out every cfg.Every and once more at the end, and
// returns the counts.
func run(ctx context.Context, cfg config, out io.Writer, logger *slog.Logger) (*Counts, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sub, err := feedbus.NewNATSSubscriber(feedbus.NATSSubscriberConfig{
		URL: cfg.NATSURL, Topic: cfg.Topic, Durable: cfg.Durable, AckWait: cfg.AckWait, Logger: logger})
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	msgs, err := sub.Subscribe(subCtx, cfg.Topic)
	if err != nil {
		return nil, err
	}
	counts := NewCounts()
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return counts, finalTable(ctx, counts, out)
			}
			count(counts, m, logger)
		case <-tick.C:
			if err := printTable(counts, out); err != nil {
				return counts, err
			}
		case <-ctx.Done():
			return counts, finalTable(ctx, counts, out)
		}
	}
}

// count adds one message to counts and acks it. A message that is not a feed
// event is logged and acked: no redelivery would make it readable.
func count(counts *Counts, m *message.Message, logger *slog.Logger) {
	e, err := feedbus.ReadMessage(m)
	if err == nil {
		_, err = counts.Add(e)
	}
	if err != nil {
		logger.Error("skipping a feed message", "uuid", m.UUID, "err", err)
	}
	m.Ack()
}

func printTable(counts *Counts, out io.Writer) error {
	if _, err := fmt.Fprintf(out, "\n"); err != nil {
		return fmt.Errorf("write counts: %w", err)
	}
	return counts.WriteTable(out)
}

// finalTable prints the table at exit; a subscription that ended without ctx
// ending is an error.
func finalTable(ctx context.Context, counts *Counts, out io.Writer) error {
	err := printTable(counts, out)
	if ctx.Err() == nil {
		err = errors.Join(errors.New("the feed subscription ended"), err)
	}
	return err
}
