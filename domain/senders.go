package domain

import (
	"maps"
	"slices"
)

// senderNames interns the sender ids of recent messages, so that a message's
// record holds a small number instead of a string: one string per sender, not
// one per message, for the garbage collector to trace.
//
// Names are only added; retain drops the ones no longer referred to. Between
// two calls of retain the table grows by at most one name per message added.
type senderNames struct {
	names []string
	refs  map[string]uint32 // index into names, by name
}

// ref returns the number of name, adding it when it is new.
func (t *senderNames) ref(name string) uint32 {
	if r, ok := t.refs[name]; ok {
		return r
	}
	if t.refs == nil {
		t.refs = make(map[string]uint32)
	}
	r := uint32(len(t.names))
	t.names = append(t.names, name)
	t.refs[name] = r
	return r
}

// name returns the name of a number ref returned.
func (t *senderNames) name(ref uint32) string {
	return t.names[ref]
}

// retain keeps only the names that recs refer to, in the order they first
// appear, and renumbers recs' senders to match. Numbers held by other records
// become meaningless.
func (t *senderNames) retain(recs []recentRecord) {
	old := t.names
	t.names = nil
	t.refs = nil
	for i := range recs {
		recs[i].sender = t.ref(old[recs[i].sender])
	}
}

func (t *senderNames) clone() senderNames {
	return senderNames{names: slices.Clone(t.names), refs: maps.Clone(t.refs)}
}
