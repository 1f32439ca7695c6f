package ws

// QueuedBytes returns what Queued reports for each open connection of h.
func QueuedBytes(h *Handler) []int {
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	out := make([]int, len(conns))
	for i, c := range conns {
		out[i] = c.Queued()
	}
	return out
}
