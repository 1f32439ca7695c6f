package ws

// minQueueSlots is the capacity a queue starts with, and keeps once empty.
const minQueueSlots = 4

// frameQueue is a connection's FIFO of frames waiting to be written, which
// counts their bytes: a ring that grows by doubling and gives its slots back
// once it has drained, so that an idle connection holds at most
// minQueueSlots slots (none before its first frame). It bounds nothing
// itself: the connection closes when bytes pass its limit. Frames are shared
// slices (a push is the same bytes for every recipient), so a slot costs a
// slice header, the bytes are counted but not copied. It is not safe for
// concurrent use: the connection's mutex guards it.
type frameQueue struct {
	slots [][]byte
	head  int
	n     int
	bytes int
}

// len returns the number of frames queued.
func (q *frameQueue) len() int { return q.n }

// push appends frame.
func (q *frameQueue) push(frame []byte) {
	if q.n == len(q.slots) {
		q.grow()
	}
	q.slots[(q.head+q.n)%len(q.slots)] = frame
	q.n++
	q.bytes += len(frame)
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
	q.bytes -= len(frame)
	if q.n == 0 {
		q.head = 0
		if len(q.slots) > minQueueSlots {
			q.slots = nil
		}
	}
	return frame, true
}

// grow doubles the ring, keeping the frames in order.
func (q *frameQueue) grow() {
	slots := make([][]byte, max(2*len(q.slots), minQueueSlots))
	for i := range q.n {
		slots[i] = q.slots[(q.head+i)%len(q.slots)]
	}
	q.slots, q.head = slots, 0
}
