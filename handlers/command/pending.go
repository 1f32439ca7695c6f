package command

// Pending is a command that has been queued on its session and may not be
// answered yet: a transport that pipelines a client's frames starts each
// command in the order the frames came and answers each once it is done.
type Pending[T any] struct {
	op     *pendingUpdate
	result func() (T, error)
}

// Done is closed once the command is answered.
func (p *Pending[T]) Done() <-chan struct{} { return p.op.finished }

// Wait blocks until the command is answered and returns its result.
func (p *Pending[T]) Wait() (T, error) {
	if err := p.op.wait(); err != nil {
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
