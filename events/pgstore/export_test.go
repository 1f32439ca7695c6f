package pgstore

// QueuedAppends is how many appends wait for a group committer.
func QueuedAppends(s *Store) int { return len(s.appends) }
