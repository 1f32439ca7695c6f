package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// workerRequest is one line the coordinator writes to a worker: Op names the
// fleet method, the other fields its argument.
type workerRequest struct {
	Op         string      `json:"op"` // init, connect, arm, start, progress, finish, disconnect
	Config     *Config     `json:"config,omitempty"`
	Index      int         `json:"index,omitempty"` // init: the worker's number, for its source addresses
	Population *population `json:"population,omitempty"`
	Spec       *sendSpec   `json:"spec,omitempty"`
}

// workerAnswer is the worker's line in answer to a request.
type workerAnswer struct {
	Error    string         `json:"error,omitempty"`
	Connect  *connectResult `json:"connect,omitempty"`
	Progress *progress      `json:"progress,omitempty"`
	Tally    *tally         `json:"tally,omitempty"`
}

// ServeWorker is a worker process of a run spread over processes (`tellyou
// bench --worker`): it reads requests from in, one JSON object per line,
// plays them on a fleet of its own and answers each with one line on out,
// until in ends; then it closes its connections. The first request gives
// the run's Config. ctx bounds the fleet's work.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	var f *fleet
	defer func() {
		if f != nil {
			_ = f.close()
		}
	}()
	for {
		var req workerRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("worker: read a request: %w", err)
		}
		var ans workerAnswer
		var err error
		switch {
		case req.Op == "init":
			if f != nil || req.Config == nil {
				err = errors.New("init: once, with a config")
				break
			}
			f = newFleet(*req.Config, req.Index)
		case f == nil:
			err = fmt.Errorf("%s before init", req.Op)
		default:
			ans, err = serveRequest(ctx, f, req)
		}
		if err != nil {
			ans = workerAnswer{Error: err.Error()}
		}
		if err := enc.Encode(ans); err != nil {
			return fmt.Errorf("worker: answer %s: %w", req.Op, err)
		}
	}
}

// serveRequest plays one request on f.
func serveRequest(ctx context.Context, f *fleet, req workerRequest) (workerAnswer, error) {
	var ans workerAnswer
	var err error
	switch req.Op {
	case "connect":
		if req.Population == nil {
			return ans, errors.New("connect: no population")
		}
		var r connectResult
		r, err = f.connect(ctx, *req.Population)
		ans.Connect = &r
	case "arm":
		err = f.arm(ctx)
	case "start":
		if req.Spec == nil {
			return ans, errors.New("start: no spec")
		}
		err = f.start(ctx, *req.Spec)
	case "progress":
		var p progress
		p, err = f.progress(ctx)
		ans.Progress = &p
	case "finish":
		ans.Tally, err = f.finish(ctx)
	case "disconnect":
		err = f.disconnect(ctx)
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	return ans, err
}
