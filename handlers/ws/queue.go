package ws

// minQueueSlots is the capacity a queue starts with, and keeps once empty.
const minQueueSlots = 4

// frameQueue is a connection's bounded FIFO of frames waiting to be written:
// a ring that grows by doubling up to its bound and gives its slots back once
// it has drained, so that an idle connection holds at most minQueueSlots
// slots (none before its first frame) however large the bound. It is not
// safe for concurrent use: the connection's mutex guards it.
type frameQueue struct {
	slots [][]byte
	head  int
	n     int
	limit int
}

func newFrameQueue(limit int) frameQueue { return frameQueue{limit: limit} }

// len returns the number of frames queued.
func (q *frameQueue) len() int { return q.n }

// push appends frame; false when the queue already holds limit frames.
func (q *frameQueue) push(frame []byte) bool {
	if q.n >= q.limit {
		return false
	}
	if q.n == len(q.slots) {
		q.grow()
	}
	q.slots[(q.head+q.n)%len(q.slots)] = frame
	q.n++
	return true
}

// pop removes and returns the oldest frame; false when the queue is empty.
func (q *frameQueue) pop() ([]byte, bool) {
	if q.n == 0 {
		return nil, false
	}
	frame := q.slots[q.head]
	q.slots[q.head] = nil
	q.head = (q.head + 1) % len(q.slots)
	q.n--
	if q.n == 0 {
		q.head = 0
		if len(q.slots) > minQueueSlots {
			q.slots = nil
		}
	}
	return frame, true
}

// grow doubles the ring (within limit), keeping the frames in order.
func (q *frameQueue) grow() {
	size := min(max(2*len(q.slots), minQueueSlots), q.limit)
	slots := make([][]byte, size)
	for i := range q.n {
		slots[i] = q.slots[(q.head+i)%len(q.slots)]
	}
	q.slots, q.head = slots, 0
}

// bytes returns the size of the frames queued.
func (q *frameQueue) bytes() int {
	n := 0
	for i := range q.n {
		n += len(q.slots[(q.head+i)%len(q.slots)])
	}
	return n
}
