package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is the connections one process holds, and the steps it plays on
// them. It is a part; its methods are called one at a time.
type fleet struct {
	cfg      Config
	rec      *recorder
	clients  []*http.Client // one per source address
	toks     tokens
	scenario string
	devices  []*device // connected ones

	// The step in progress, between start and finish.
	stopSending, stopAcks context.CancelFunc
	sendersDone           chan struct{}
	senders, ackers       sync.WaitGroup
}

var _ part = (*fleet)(nil)

// newFleet returns the fleet of the index-th process of a run: it uses
// cfg.Sources loopback addresses of its own.
func newFleet(cfg Config, index int) *fleet {
	return &fleet{cfg: cfg, rec: newRecorder(), clients: sourceClients(cfg.Sources, index*cfg.Sources),
		toks: tokens{secret: cfg.Secret, now: time.Now()}}
}

func (f *fleet) connect(ctx context.Context, pop population) (connectResult, error) {
	if err := f.disconnect(ctx); err != nil {
		return connectResult{}, err
	}
	f.scenario = pop.Scenario
	content := strings.Repeat("x", f.cfg.Payload)
	var devices []*device
	for i := pop.From; i < pop.To; i++ {
		user, peer, session := pop.user(i), "", pop.Group
		if pairScenario(pop.Scenario) {
			peer = pop.user(i ^ 1)
			session = directSession(user, peer)
		}
		for range pop.ConnsPerUser {
			devices = append(devices, newDevice(user, peer, session, f.cfg.InFlight, content, f.rec))
		}
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		res connectResult
	)
	gate := make(chan struct{}, f.cfg.DialParallel)
	for i, d := range devices {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return res, ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-gate }()
			err := f.dial(ctx, d, i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				f.devices = append(f.devices, d)
				res.Connected++
			case ctx.Err() == nil:
				res.Failures++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
			}
		})
	}
	wg.Wait()
	return res, ctx.Err()
}

// dial connects d through source address i mod Sources.
func (f *fleet) dial(ctx context.Context, d *device, i int) error {
	tok, err := f.toks.of(d.user)
	if err != nil {
		return err
	}
	return d.connect(ctx, f.clients[i%len(f.clients)], "ws://"+f.cfg.Addr+"/v1/ws", tok)
}

// directSession is the id of the direct session of a and b.
func directSession(a, b string) string {
	return "d:" + min(a, b) + ":" + max(a, b)
}

func (f *fleet) arm(context.Context) error {
	if f.sendersDone != nil {
		return fmt.Errorf("arm: a step is already running")
	}
	f.rec.reset()
	return nil
}

func (f *fleet) start(ctx context.Context, spec sendSpec) error {
	if f.sendersDone != nil {
		return fmt.Errorf("a step is already running")
	}
	sendCtx, stopSending := context.WithCancel(ctx)
	if spec.Duration > 0 {
		sendCtx, stopSending = context.WithTimeout(ctx, spec.Duration)
	}
	ackCtx, stopAcks := context.WithCancel(ctx)
	f.stopSending, f.stopAcks = stopSending, stopAcks
	var budget *atomic.Int64
	if spec.Messages > 0 {
		budget = new(atomic.Int64)
		budget.Store(spec.Messages)
	}
	var interval time.Duration
	if spec.Rate > 0 {
		interval = time.Duration(float64(len(f.devices)) / spec.Rate * float64(time.Second))
	}
	for _, d := range f.devices {
		if spec.Silent {
			break
		}
		if f.scenario == ScenarioReconnect {
			f.senders.Go(func() { f.reconnecting(ackCtx, sendCtx, d, interval, budget) })
			continue
		}
		f.senders.Go(func() { sendLoop(sendCtx, d, interval, budget) })
	}
	if f.scenario != ScenarioReconnect {
		for _, d := range f.devices {
			f.ackers.Go(func() { f.ackLoop(ackCtx, d) })
		}
	}
	done := make(chan struct{})
	f.sendersDone = done
	// Owned by finish, which waits for done.
	go func() {
		f.senders.Wait()
		close(done)
	}()
	return nil
}

func (f *fleet) progress(context.Context) (progress, error) {
	p := progress{Acked: f.rec.acked.Load(), Delivered: f.rec.delivered.Load(),
		Arrived: f.rec.delivered.Load() + f.rec.repeats.Load() + f.rec.synced.Load()}
	if f.sendersDone != nil {
		select {
		case <-f.sendersDone:
		default:
			p.Sending = true
		}
	}
	for _, d := range f.devices {
		p.InFlight += int64(d.inFlight())
	}
	return p, nil
}

func (f *fleet) finish(ctx context.Context) (*tally, error) {
	if f.sendersDone == nil {
		return f.rec.snapshot(), nil
	}
	f.stopSending()
	<-f.sendersDone
	f.stopAcks()
	f.ackers.Wait()
	f.sendersDone = nil
	f.ackAll(ctx)
	var unanswered int64
	for _, d := range f.devices {
		unanswered += d.retire()
	}
	if unanswered > 0 {
		f.rec.mu.Lock()
		f.rec.errors["send:unanswered"] += unanswered
		f.rec.mu.Unlock()
	}
	t := f.rec.snapshot()
	t.Unanswered = t.Errors["send:unanswered"]
	return t, nil
}

// ackAll acks, on every connection, what it received since its last ack:
// unacked pushes would be pushed again (after the redelivery timeout)
// while the next step waits for an idle server.
func (f *fleet) ackAll(ctx context.Context) {
	var wg sync.WaitGroup
	gate := make(chan struct{}, 256)
	for _, d := range f.devices {
		if d.ws == nil {
			continue // a reconnecting device that could not reconnect
		}
		gate <- struct{}{}
		wg.Go(func() {
			defer func() { <-gate }()
			d.ackLatest(ctx, "received")
		})
	}
	wg.Wait()
}

func (f *fleet) disconnect(ctx context.Context) error {
	if _, err := f.finish(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	gate := make(chan struct{}, 256)
	for _, d := range f.devices {
		gate <- struct{}{}
		wg.Go(func() {
			defer func() { <-gate }()
			d.close(true)
		})
	}
	wg.Wait()
	f.devices = nil
	return nil
}

func (f *fleet) close() error { return f.disconnect(context.Background()) }

// ackInterval is how often a device acks what it received: often enough
// that nothing waits for redelivery (10 s), rarely enough in a big group
// that the acks do not swamp the messages.
func (f *fleet) ackInterval() time.Duration {
	switch f.scenario {
	case ScenarioMixed:
		return 200 * time.Millisecond
	case ScenarioGroup:
		return 5 * time.Second
	}
	return time.Second
}

// ackLoop acks what d received, every ackInterval from a random phase,
// until ctx ends; in the mixed scenario every fifth ack is a read ack.
func (f *fleet) ackLoop(ctx context.Context, d *device) {
	every := f.ackInterval()
	select {
	case <-ctx.Done():
		return
	case <-time.After(rand.N(every)):
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		ackType := "received"
		if f.scenario == ScenarioMixed && n%5 == 0 {
			ackType = "read"
		}
		d.ackLatest(ctx, ackType)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil {
			return // both were ready; the step is over
		}
	}
}

// sendLoop sends from d until ctx ends or the budget is spent: every
// interval, or as fast as answers make room when interval is 0.
func sendLoop(ctx context.Context, d *device, interval time.Duration, budget *atomic.Int64) {
	var tick <-chan time.Time
	if interval > 0 {
		// A random phase, so that the devices do not send in bursts.
		select {
		case <-ctx.Done():
			return
		case <-time.After(rand.N(interval)):
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for first := true; ctx.Err() == nil; first = false {
		if tick != nil && !first {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
		}
		if budget != nil && budget.Add(-1) < 0 {
			return
		}
		if !d.send(ctx) {
			return
		}
	}
}
