package loadgen

// seqSet is the set of seqs of one session that a connection holds: every
// seq up to floor, and those above it in above. A session's messages arrive
// mostly in order and a device also marks the seqs of its own sends, so
// above stays small; a seq that never arrives keeps what follows it there.
type seqSet struct {
	floor int64
	above map[int64]struct{}
}

// add puts seq in the set and reports whether it was new.
func (s *seqSet) add(seq int64) bool {
	if seq <= s.floor {
		return false
	}
	if _, ok := s.above[seq]; ok {
		return false
	}
	if seq != s.floor+1 {
		if s.above == nil {
			s.above = map[int64]struct{}{}
		}
		s.above[seq] = struct{}{}
		return true
	}
	s.floor = seq
	for {
		if _, ok := s.above[s.floor+1]; !ok {
			return true
		}
		delete(s.above, s.floor+1)
		s.floor++
	}
}
