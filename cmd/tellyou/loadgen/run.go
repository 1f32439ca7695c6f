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

// Run plays cfg's scenario against the server at cfg.Addr and returns what it
// measured. It returns when the sending phase is over (Duration, Messages or
// ctx), the answers and pushes in flight have arrived or Drain has passed, and
// every connection it opened is closed. An error means the run could not start
// (bad config, no group, no connection at all); failures during the run are
// counted in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, rec: newRecorder(), clients: sourceClients(cfg.Sources), toks: tokens{secret: cfg.Secret, now: time.Now()}}
	return r.play(ctx)
}

// run is the state of one Run.
type run struct {
	cfg        Config
	rec        *recorder
	clients    []*http.Client // one per source address
	toks       tokens
	devices    []*device // connected ones only, after connectAll
	recipients int

	dialErrOnce sync.Once
	dialErr     string
}

func (r *run) play(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	usage := ServerUsage{}
	startSample := time.Now()
	before, source, err := sampleServer(ctx, r.clients[0], cfg.Addr, cfg.ServerPID)
	if err != nil {
		usage.Error = err.Error()
	}
	devices, err := r.setup(ctx)
	if err != nil {
		return nil, err
	}
	r.connectAll(ctx, devices)
	defer r.closeAll()
	if len(r.devices) == 0 {
		return nil, fmt.Errorf("no connection to %s could be opened: %s", cfg.Addr, r.dialErr)
	}

	start := time.Now()
	sendCtx, stopSending := context.WithCancel(ctx)
	if cfg.Duration > 0 {
		sendCtx, stopSending = context.WithTimeout(ctx, cfg.Duration)
	}
	defer stopSending()
	var sendTime time.Duration
	if cfg.Scenario == ScenarioIdle {
		<-sendCtx.Done()
		sendTime = time.Since(start)
	} else {
		sendTime = r.exchange(ctx, sendCtx)
	}

	after, _, afterErr := sampleServer(ctx, r.clients[0], cfg.Addr, cfg.ServerPID)
	wall := time.Since(startSample)
	if usage.Error == "" && afterErr != nil {
		usage.Error = afterErr.Error()
	}
	if usage.Error == "" {
		usage = ServerUsage{Source: source, CPUBefore: before.cpu, CPUAfter: after.cpu, CPUSeconds: after.cpu - before.cpu,
			CPUCores: (after.cpu - before.cpu) / wall.Seconds(), RSSBefore: before.rss, RSSAfter: after.rss,
			RSSPerConn: float64(after.rss-before.rss) / float64(len(r.devices))}
	}
	r.closeAll()
	return r.report(start, sendTime, usage), nil
}

// setup names the run's users, creates the group the scenario needs and
// prepares ConnsPerUser devices per user.
func (r *run) setup(ctx context.Context) ([]*device, error) {
	cfg := r.cfg
	prefix := fmt.Sprintf("b%06x-", rand.Uint32()&0xffffff)
	users := make([]string, cfg.Users)
	for i := range users {
		users[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	content := strings.Repeat("x", cfg.Payload)
	var devices []*device
	add := func(user, peer, session string) {
		for range cfg.ConnsPerUser {
			devices = append(devices, newDevice(user, peer, session, cfg.InFlight, content, r.rec))
		}
	}
	switch cfg.Scenario {
	case ScenarioGroup:
		tok, err := r.toks.of(users[0])
		if err != nil {
			return nil, err
		}
		group, err := createGroup(ctx, r.clients[0], cfg.Addr, tok, users)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			add(u, "", group)
		}
		r.recipients = cfg.GroupSize*cfg.ConnsPerUser - 1
	case ScenarioIdle:
		for _, u := range users {
			add(u, "", "")
		}
	default:
		for i, u := range users {
			peer := users[i^1]
			add(u, peer, directSession(u, peer))
		}
		r.recipients = 2*cfg.ConnsPerUser - 1
	}
	return devices, nil
}

// directSession is the id of the direct session of a and b.
func directSession(a, b string) string {
	return "d:" + min(a, b) + ":" + max(a, b)
}

// connectAll opens the devices' connections, DialParallel at a time; those
// that connect make up r.devices.
func (r *run) connectAll(ctx context.Context, devices []*device) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	gate := make(chan struct{}, r.cfg.DialParallel)
	for i, d := range devices {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-gate }()
			if r.dial(ctx, d, i) {
				mu.Lock()
				r.devices = append(r.devices, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// dial connects d through source address i mod Sources; a failure is counted.
func (r *run) dial(ctx context.Context, d *device, i int) bool {
	tok, err := r.toks.of(d.user)
	if err == nil {
		err = d.connect(ctx, r.clients[i%len(r.clients)], "ws://"+r.cfg.Addr+"/v1/ws", tok)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false // the run is ending: not the server's failure
		}
		r.rec.fail("dial")
		r.dialErrOnce.Do(func() { r.dialErr = err.Error() })
		return false
	}
	return true
}

// closeAll closes every open connection with a close frame, 256 at a time.
func (r *run) closeAll() {
	var wg sync.WaitGroup
	gate := make(chan struct{}, 256)
	for _, d := range r.devices {
		gate <- struct{}{}
		wg.Go(func() {
			defer func() { <-gate }()
			d.close(true)
		})
	}
	wg.Wait()
}

// ackInterval is how often a device acks what it received: often enough
// that nothing waits for redelivery (10 s), rarely enough in a big group
// that receipts (pushed to every member) do not swamp the messages.
func (r *run) ackInterval() time.Duration {
	switch r.cfg.Scenario {
	case ScenarioMixed:
		return 200 * time.Millisecond
	case ScenarioGroup:
		return 5 * time.Second
	}
	return time.Second
}

// exchange sends until sendCtx ends or the message budget is spent, then
// drains. It returns the length of the sending phase.
func (r *run) exchange(ctx, sendCtx context.Context) time.Duration {
	start := time.Now()
	var budget *atomic.Int64
	if r.cfg.Messages > 0 {
		budget = new(atomic.Int64)
		budget.Store(r.cfg.Messages)
	}
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(len(r.devices)) / r.cfg.Rate * float64(time.Second))
	}
	ackCtx, stopAcks := context.WithCancel(ctx)
	var senders, ackers sync.WaitGroup
	for _, d := range r.devices {
		if r.cfg.Scenario == ScenarioReconnect {
			senders.Go(func() { r.reconnecting(ctx, sendCtx, d, interval, budget) })
			continue
		}
		senders.Go(func() { sendLoop(sendCtx, d, interval, budget) })
		ackers.Go(func() { r.ackLoop(ackCtx, d) })
	}
	senders.Wait()
	sendTime := time.Since(start)
	r.drain(ctx)
	stopAcks()
	ackers.Wait()
	return sendTime
}

// sendLoop sends from d until ctx ends or the budget is spent: every
// interval, or as fast as answers free d's slots when interval is 0.
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

// ackLoop acks what d received, every ackInterval, until ctx ends; in the
// mixed scenario every fifth ack is a read ack.
func (r *run) ackLoop(ctx context.Context, d *device) {
	t := time.NewTicker(r.ackInterval())
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil {
			return // both were ready; the phase is over
		}
		ackType := "received"
		if r.cfg.Scenario == ScenarioMixed && n%5 == 0 {
			ackType = "read"
		}
		d.ackLatest(ctx, ackType)
	}
}
