package command

// Pending is a command that has been queued on its session and may not be
// answered yet: a transport that pipelines a client's frames starts each
// command in the order the frames came and answers each once it is done.
type Pending[T any] struct {
	op     *pendingUpdate
	result func() (T, error)
	// recover, when set, answers a command whose decision failed: it may
	// look further, outside the session's lock, and decide again.
	recover func(error) (T, error)
}

// Done is closed once the command is answered.
func (p *Pending[T]) Done() <-chan struct{} { return p.op.finished }

// Wait blocks until the command is answered and returns its result. A command
// decided again after a look-up (a reply to a message older than the session
// state keeps) is answered by Wait only: Done is closed at the end of the
// first decision.
func (p *Pending[T]) Wait() (T, error) {
	if err := p.op.wait(); err != nil {
		if p.recover != nil {
			return p.recover(err)
		}
		var zero T
		return zero, err
	}
	return p.result()
}

// failed returns a command answered at once with err.
func failed[T any](err error) *Pending[T] {
	op := &pendingUpdate{finished: make(chan struct{})}
	op.finish(err)
	return &Pending[T]{op: op}
}
