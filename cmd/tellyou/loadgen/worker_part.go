package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"
)

// workerPart is a worker process seen from the coordinator: each call
// writes one request line to its standard input and reads one answer line
// from its standard output.
type workerPart struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers chan workerAnswer // closed when the worker's output ends
	closing chan struct{}     // closed by close: answers are no longer read
	read    chan struct{}     // closed when the reader is done

	mu  sync.Mutex // one call at a time
	enc *json.Encoder
	// lost is set when a call gave up waiting: its answer may still come,
	// so later answers would not match their requests.
	lost bool
}

var _ part = (*workerPart)(nil)

// workerStopWait is how long close waits for a worker to exit after its
// input ends before it kills it.
const workerStopWait = 30 * time.Second

// startWorker starts the index-th worker process of a run and sends it cfg.
func startWorker(ctx context.Context, cfg Config, index int) (*workerPart, error) {
	cmd := exec.Command(cfg.WorkerCommand[0], cfg.WorkerCommand[1:]...)
	cmd.Stderr = cfg.WorkerStderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %v: %w", cfg.WorkerCommand, err)
	}
	w := &workerPart{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), answers: make(chan workerAnswer),
		closing: make(chan struct{}), read: make(chan struct{})}
	// The reader ends when the worker's output does; close waits for it.
	go func() {
		defer close(w.read)
		defer close(w.answers)
		dec := json.NewDecoder(bufio.NewReader(stdout))
		for {
			var a workerAnswer
			if err := dec.Decode(&a); err != nil {
				return
			}
			select {
			case w.answers <- a:
			case <-w.closing:
			}
		}
	}()
	if _, err := w.call(ctx, workerRequest{Op: "init", Config: &cfg, Index: index}); err != nil {
		_ = w.close()
		return nil, err
	}
	return w, nil
}

// call sends req and waits for its answer.
func (w *workerPart) call(ctx context.Context, req workerRequest) (workerAnswer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost {
		return workerAnswer{}, fmt.Errorf("worker %s: an earlier call was abandoned", req.Op)
	}
	if err := w.enc.Encode(req); err != nil {
		return workerAnswer{}, fmt.Errorf("worker %s: send: %w", req.Op, err)
	}
	select {
	case a, ok := <-w.answers:
		if !ok {
			return workerAnswer{}, fmt.Errorf("worker %s: the worker ended", req.Op)
		}
		if a.Error != "" {
			return a, fmt.Errorf("worker %s: %s", req.Op, a.Error)
		}
		return a, nil
	case <-ctx.Done():
		w.lost = true
		return workerAnswer{}, fmt.Errorf("worker %s: %w", req.Op, ctx.Err())
	}
}

func (w *workerPart) connect(ctx context.Context, pop population) (connectResult, error) {
	a, err := w.call(ctx, workerRequest{Op: "connect", Population: &pop})
	if err != nil || a.Connect == nil {
		return connectResult{}, cmpErr(err, "no connect result")
	}
	return *a.Connect, nil
}

func (w *workerPart) arm(ctx context.Context) error {
	_, err := w.call(ctx, workerRequest{Op: "arm"})
	return err
}

func (w *workerPart) start(ctx context.Context, spec sendSpec) error {
	_, err := w.call(ctx, workerRequest{Op: "start", Spec: &spec})
	return err
}

func (w *workerPart) progress(ctx context.Context) (progress, error) {
	a, err := w.call(ctx, workerRequest{Op: "progress"})
	if err != nil || a.Progress == nil {
		return progress{}, cmpErr(err, "no progress")
	}
	return *a.Progress, nil
}

func (w *workerPart) finish(ctx context.Context) (*tally, error) {
	a, err := w.call(ctx, workerRequest{Op: "finish"})
	if err != nil || a.Tally == nil {
		return nil, cmpErr(err, "no tally")
	}
	return a.Tally, nil
}

func (w *workerPart) disconnect(ctx context.Context) error {
	_, err := w.call(ctx, workerRequest{Op: "disconnect"})
	return err
}

// close ends the worker's input, which makes it close its connections and
// exit; one still running after workerStopWait is killed.
func (w *workerPart) close() error {
	_ = w.stdin.Close()
	close(w.closing)
	var killed error
	select {
	case <-w.read:
	case <-time.After(workerStopWait):
		_ = w.cmd.Process.Kill()
		<-w.read
		killed = errors.New("worker killed: it did not exit")
	}
	// Wait only once the output is read to its end, as os/exec requires.
	return errors.Join(killed, w.cmd.Wait())
}

// cmpErr is err, or an error saying what was missing from an answer.
func cmpErr(err error, missing string) error {
	if err != nil {
		return err
	}
	return errors.New("worker answer: " + missing)
}
