package projections

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/tail"
)

// feedBatch is consecutive events of the log, decoded once for every bulk
// load that reads them. Consumers only read it.
type feedBatch struct {
	evs []events.RecordedEvent
	// envs[i] is evs[i] decoded; the zero Envelope when no consumer handles
	// its type or it could not be decoded.
	envs []events.Envelope
	// errs[i] tells why evs[i] could not be decoded, nil otherwise.
	errs []error
}

// logFeed reads the log from its start to its head once and hands every
// batch, decoded, to each consumer in log order. Reading, decoding and the
// consumers' work overlap: the next batch is read while one is decoded, and
// decoded while the consumers take the one before.
type logFeed struct {
	store events.Store
	// size is the events of one read; the feed ends after a shorter one.
	size int
	// handles reports whether some consumer handles events of a type: the
	// others are not decoded.
	handles func(eventType string) bool
	logger  *slog.Logger
	// opener opens sealed content (nil: left as stored).
	opener Opener
	// label names the rebuild in progress logs.
	label string

	consumers []*feedConsumer
	// err is why the feed ended before the head of the log; set before the
	// consumers' channels are closed.
	err error
}

// feedConsumer is one reader of a feed.
type feedConsumer struct {
	// batches delivers the batches in log order; it is closed after the last.
	batches chan *feedBatch
	// quit is closed by a consumer that stops reading; the feed then leaves
	// it out.
	quit     chan struct{}
	quitOnce sync.Once
}

func (c *feedConsumer) stop() { c.quitOnce.Do(func() { close(c.quit) }) }

// consumer adds a consumer; it must be called before run.
func (f *logFeed) consumer() *feedConsumer {
	c := &feedConsumer{batches: make(chan *feedBatch, 1), quit: make(chan struct{})}
	f.consumers = append(f.consumers, c)
	return c
}

// run reads the log until a read returns fewer than size events, or every
// consumer quit, or ctx ends; then it closes every consumer's channel.
func (f *logFeed) run(ctx context.Context) {
	readCtx, cancel := context.WithCancel(ctx)
	raw := make(chan []events.RecordedEvent, 1)
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(raw)
		var after events.Position
		for {
			evs, err := f.store.ReadAll(readCtx, after, f.size)
			if err != nil {
				readErr = fmt.Errorf("read the log after %d: %w", after, err)
				return
			}
			if len(evs) > 0 {
				select {
				case raw <- evs:
				case <-readCtx.Done():
					readErr = readCtx.Err()
					return
				}
				after = evs[len(evs)-1].Position
			}
			if len(evs) < f.size {
				return
			}
		}
	})
	start, lastLog, n := time.Now(), time.Now(), 0
	for evs := range raw {
		if !f.broadcast(ctx, f.decode(ctx, evs)) {
			break
		}
		n += len(evs)
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			f.logger.Info("rebuild progress", "projections", f.label, "events", n,
				"position", int64(evs[len(evs)-1].Position), "elapsed", time.Since(start))
		}
	}
	cancel()
	for range raw { // let the reader see the cancellation
	}
	wg.Wait()
	if f.err == nil {
		f.err = readErr
	}
	for _, c := range f.consumers {
		close(c.batches)
	}
}

// broadcast hands b to every consumer still reading. It reports false when
// none is left or ctx ended.
func (f *logFeed) broadcast(ctx context.Context, b *feedBatch) bool {
	left := 0
	for _, c := range f.consumers {
		select {
		case c.batches <- b:
			left++
		case <-c.quit:
		case <-ctx.Done():
			f.err = ctx.Err()
			return false
		}
	}
	return left > 0
}

// decode decodes the events some consumer handles, in as many goroutines as
// Go runs at once: decoding JSON is most of a bulk load's own work.
func (f *logFeed) decode(ctx context.Context, evs []events.RecordedEvent) *feedBatch {
	b := &feedBatch{evs: evs, envs: make([]events.Envelope, len(evs)), errs: make([]error, len(evs))}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(evs)/256))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(evs)/workers, (w+1)*len(evs)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if f.handles(evs[i].Type) {
					e := tail.DecodeOpened(ctx, evs[i], f.opener)
					b.envs[i], b.errs[i] = e.Envelope, e.DecodeErr
				}
			}
		})
	}
	wg.Wait()
	return b
}
