package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Run plays cfg against the server at cfg.Addr: one step, one per rate of
// Sweep, or one per size of GroupSizes, in order. emit gets each step's
// Report as soon as the step is over; an error from emit stops the run.
// Run returns when every step is over and every connection and worker
// process it started is closed. An error means a step could not run (bad
// config, no connection at all, a worker lost); failures during a step are
// counted in its report, and a fan-out step the machine cannot hold is
// reported as skipped.
func Run(ctx context.Context, cfg Config, emit func(*Report) error) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	steps := cfg.plan()
	c := &coordinator{cfg: cfg, steps: len(steps), client: sourceClients(1, 0)[0], toks: tokens{secret: cfg.Secret, now: time.Now()}}
	if err := c.open(ctx, cfg.procsFor(steps)); err != nil {
		return err
	}
	defer c.close()
	for _, st := range steps {
		rep, err := c.play(ctx, st)
		if err != nil {
			return fmt.Errorf("step %d: %w", st.Index, err)
		}
		if err := emit(rep); err != nil {
			return err
		}
	}
	return nil
}

// coordinator plays a run's steps over its parts.
type coordinator struct {
	cfg    Config
	steps  int
	client *http.Client // the server's HTTP API, /metrics and pprof
	toks   tokens
	parts  []part

	// The population connected now.
	conns      []int // per part
	connected  int
	dial       connectResult // totals of the last connect
	recipients int           // connections each message is pushed to
}

// open starts the parts: this process's fleet, or procs workers.
func (c *coordinator) open(ctx context.Context, procs int) error {
	if procs == 1 {
		c.parts = []part{newFleet(c.cfg, 0)}
		return nil
	}
	if len(c.cfg.WorkerCommand) == 0 {
		return fmt.Errorf("%d processes are needed but no worker command is set", procs)
	}
	for i := range procs {
		w, err := startWorker(ctx, c.cfg, i)
		if err != nil {
			return fmt.Errorf("worker %d: %w", i, err)
		}
		c.parts = append(c.parts, w)
	}
	return nil
}

func (c *coordinator) close() {
	var wg sync.WaitGroup
	for _, p := range c.parts {
		wg.Go(func() { _ = p.close() })
	}
	wg.Wait()
}

// each calls fn for every part at once and returns their errors joined.
func (c *coordinator) each(fn func(i int, p part) error) error {
	errs := make([]error, len(c.parts))
	var wg sync.WaitGroup
	for i, p := range c.parts {
		wg.Go(func() { errs[i] = fn(i, p) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// play runs one step.
func (c *coordinator) play(ctx context.Context, st step) (*Report, error) {
	rep := &Report{Step: st.Index, Steps: c.steps, Scenario: c.cfg.Scenario, Addr: c.cfg.Addr, Users: st.Users,
		ConnsPerUser: c.cfg.ConnsPerUser, GroupSize: st.GroupSize, Procs: len(c.parts), TargetRate: st.Rate,
		InFlight: c.cfg.InFlight, Errors: map[string]int64{}}
	if c.cfg.Scenario == ScenarioIdle {
		return c.playIdle(ctx, st, rep)
	}
	if st.Fresh {
		skip, err := c.populate(ctx, st)
		if err != nil {
			return nil, err
		}
		if skip != "" {
			rep.Skipped = skip
			return rep, nil
		}
	}
	rep.SettleSeconds, rep.SettleNote = c.settle(ctx)
	before := c.sample(ctx, true)
	start := time.Now()
	if err := c.start(ctx, st); err != nil {
		return nil, err
	}
	sendEnd, err := c.waitSending(ctx)
	if err != nil {
		return nil, err
	}
	missing5s, err := c.drain(ctx, sendEnd)
	if err != nil {
		return nil, err
	}
	after := c.sample(ctx, false)
	t, err := c.finish(ctx)
	if err != nil {
		return nil, err
	}
	rep.fill(t, start, sendEnd)
	c.connections(rep, st, t)
	rep.Server = usage(before, after, c.connected)
	c.countDeliveries(rep, missing5s)
	return rep, nil
}

// start arms every part, then starts every part's share of the step: the
// first sends reach connections of every part at once, so no part may
// still clear its counts once any part sends.
func (c *coordinator) start(ctx context.Context, st step) error {
	if err := c.each(func(_ int, p part) error { return p.arm(ctx) }); err != nil {
		return fmt.Errorf("arm: %w", err)
	}
	rates, budgets := shares(st.Rate, c.cfg.Messages, c.conns)
	err := c.each(func(i int, p part) error {
		return p.start(ctx, sendSpec{Rate: rates[i], Duration: c.cfg.Duration, Messages: budgets[i],
			Silent: c.cfg.Messages > 0 && budgets[i] == 0})
	})
	if err != nil {
		return fmt.Errorf("start sending: %w", err)
	}
	return nil
}

// playIdle measures what idle connections cost the server: its usage
// before they open and after they were held for Duration.
func (c *coordinator) playIdle(ctx context.Context, st step, rep *Report) (*Report, error) {
	rep.SettleSeconds, rep.SettleNote = c.settle(ctx)
	before := c.sample(ctx, true)
	start := time.Now()
	skip, err := c.populate(ctx, st)
	if err != nil {
		return nil, err
	}
	if skip != "" {
		rep.Skipped = skip
		return rep, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(c.cfg.Duration):
	}
	after := c.sample(ctx, false)
	t, err := c.finish(ctx)
	if err != nil {
		return nil, err
	}
	rep.fill(t, start, start)
	c.connections(rep, st, t)
	rep.Server = usage(before, after, c.connected)
	return rep, nil
}

// connections sets the report's connection figures; the dial failures of
// a population count in the step that opened it.
func (c *coordinator) connections(rep *Report, st step, t *tally) {
	rep.Recipients = c.recipients
	rep.Connections = c.connected + int(t.Reconnects)
	if st.Fresh && c.dial.Failures > 0 {
		rep.Errors["dial"] += c.dial.Failures
		rep.FirstDialError = c.dial.FirstError
	}
}

// populate closes the previous step's connections and opens this step's:
// it names the users, creates the group the scenario needs and connects
// every part's share. A fan-out step the machine cannot hold, or whose
// group the server refuses, is skipped: the reason is returned.
func (c *coordinator) populate(ctx context.Context, st step) (string, error) {
	fanOut := len(c.cfg.GroupSizes) > 0
	if err := c.each(func(_ int, p part) error { return p.disconnect(ctx) }); err != nil {
		return "", fmt.Errorf("close the previous connections: %w", err)
	}
	c.conns, c.connected, c.dial = make([]int, len(c.parts)), 0, connectResult{}
	want := st.Users * c.cfg.ConnsPerUser
	if why := capacity(want, len(c.parts), c.cfg.ServerPID); why != "" {
		if fanOut {
			return why, nil
		}
		return "", errors.New(why)
	}
	pop := population{Scenario: c.cfg.Scenario, Prefix: fmt.Sprintf("b%06x-", rand.Uint32()&0xffffff), Users: st.Users,
		ConnsPerUser: c.cfg.ConnsPerUser}
	switch {
	case c.cfg.Scenario == ScenarioGroup:
		members := make([]string, st.Users)
		for i := range members {
			members[i] = pop.user(i)
		}
		tok, err := c.toks.of(members[0])
		if err != nil {
			return "", err
		}
		if pop.Group, err = createGroup(ctx, c.client, c.cfg.Addr, tok, members, memberChunkBytes); err != nil {
			if fanOut && ctx.Err() == nil {
				return fmt.Sprintf("the server refused a group of %d: %v", st.Users, err), nil
			}
			return "", err
		}
		c.recipients = st.Users*c.cfg.ConnsPerUser - 1
	case pairScenario(c.cfg.Scenario):
		c.recipients = 2*c.cfg.ConnsPerUser - 1
	default:
		c.recipients = 0
	}
	ranges := userRanges(st.Users, len(c.parts), pairScenario(c.cfg.Scenario))
	results := make([]connectResult, len(c.parts))
	err := c.each(func(i int, p part) error {
		share := pop
		share.From, share.To = ranges[i][0], ranges[i][1]
		var err error
		results[i], err = p.connect(ctx, share)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	for i, r := range results {
		c.conns[i] = r.Connected
		c.connected += r.Connected
		c.dial.Failures += r.Failures
		if c.dial.FirstError == "" {
			c.dial.FirstError = r.FirstError
		}
	}
	c.dial.Connected = c.connected
	switch {
	case fanOut && c.connected < want:
		why := fmt.Sprintf("only %d of %d connections opened: %s", c.connected, want, c.dial.FirstError)
		if err := c.each(func(_ int, p part) error { return p.disconnect(ctx) }); err != nil {
			return "", err
		}
		return why, nil
	case c.connected == 0:
		return "", fmt.Errorf("no connection to %s could be opened: %s", c.cfg.Addr, c.dial.FirstError)
	}
	return "", nil
}

// pollEvery is how often the coordinator asks the parts how far they are.
const pollEvery = 25 * time.Millisecond

// sum is the progress of all parts.
func (c *coordinator) sum(ctx context.Context) (progress, error) {
	each := make([]progress, len(c.parts))
	err := c.each(func(i int, p part) error {
		var err error
		each[i], err = p.progress(ctx)
		return err
	})
	var total progress
	for _, p := range each {
		total.add(p)
	}
	return total, err
}

// waitSending waits until no part sends any more and returns when that was.
func (c *coordinator) waitSending(ctx context.Context) (time.Time, error) {
	for {
		p, err := c.sum(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("progress: %w", err)
		}
		if !p.Sending {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// finish ends the step on every part and merges what they measured.
func (c *coordinator) finish(ctx context.Context) (*tally, error) {
	tallies := make([]*tally, len(c.parts))
	err := c.each(func(i int, p part) error {
		var err error
		tallies[i], err = p.finish(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finish the step: %w", err)
	}
	return mergeTallies(tallies), nil
}
