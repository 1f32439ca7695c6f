package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/tellyou/tellyou/events"
)

// Group commit: concurrent Append calls share one transaction, so one commit
// (one WAL flush, the dominant cost of a small append) makes many appends
// durable, and the batch travels in one round trip whatever its size.
//
// A fixed number of committers take appends from a queue. A committer takes
// the first waiting append, then every other one already waiting (up to
// maxBatchAppends appends and maxBatchEvents events), and commits them
// together. Nothing waits for a batch to fill: under light load each append
// gets a transaction of its own at once, exactly as without group commit, and
// batches grow only while appends queue up behind busy committers.
//
// Each append in a batch keeps its own outcome. A version check that fails
// changes nothing in the transaction and fails that append alone. Anything
// else that goes wrong (a duplicate event id, a lost connection, a failed
// commit) rolls the batch back and every append of it runs again on its own,
// in its own transaction, where the single-append path explains or retries
// it: so an append of a batch behaves exactly as it would alone.

const (
	// defaultCommitters is the number of batches in flight at once when
	// Config.Committers is 0. Batches commit one at a time (they take their
	// positions under the log head's lock, see commitAppends), so more
	// committers do not commit more often: they let the next batches run
	// their version steps while one commits, and leave the pool to readers.
	defaultCommitters = 4
	// maxBatchAppends and maxBatchEvents bound one batch.
	maxBatchAppends = 256
	maxBatchEvents  = 8192
)

// GroupCommitStats counts the batches of more than one append that group
// commit has committed, and the appends in them: Appends / Batches is the
// mean batch size under load.
type GroupCommitStats struct {
	Batches int64
	Appends int64
}

type groupCommitCounters struct {
	batches atomic.Int64
	appends atomic.Int64
}

// GroupCommitStats reports the store's group commits so far.
func (s *Store) GroupCommitStats() GroupCommitStats {
	return GroupCommitStats{Batches: s.groupStats.batches.Load(), Appends: s.groupStats.appends.Load()}
}

// appendRequest is one Append waiting in the group-commit queue.
type appendRequest struct {
	ctx      context.Context
	streamID string
	expected events.ExpectedVersion
	evs      []events.EventData
	done     chan appendOutcome
}

// appendOutcome is a batch's answer to one appendRequest.
type appendOutcome struct {
	res events.AppendResult
	// err is errVersionCheck (the caller explains it), or the caller's
	// context error.
	err error
	// alone asks the caller to append on its own: the batch could not tell
	// this append's outcome.
	alone bool
	// final marks res and err as Append's answer, as is.
	final bool
}

// groupAppend queues an append for the committers and waits for its outcome.
func (s *Store) groupAppend(ctx context.Context, streamID string, expected events.ExpectedVersion, evs []events.EventData) (events.AppendResult, error) {
	req := &appendRequest{ctx: ctx, streamID: streamID, expected: expected, evs: evs, done: make(chan appendOutcome, 1)}
	select {
	case s.appends <- req:
	case <-ctx.Done():
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, ctx.Err())
	case <-s.closing:
		return s.appendAlone(ctx, streamID, expected, evs)
	}
	var out appendOutcome
	select {
	case out = <-req.done:
	case <-s.committersDone:
		// Every committer has returned: the append was answered just now or
		// will never be taken.
		select {
		case out = <-req.done:
		default:
			out = appendOutcome{alone: true}
		}
	case <-ctx.Done():
		// The batch may still commit this append: the outcome is unknown, as
		// when a commit fails. A retry with the same event ids is safe.
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, ctx.Err())
	}
	switch {
	case out.final:
		return out.res, out.err
	case out.alone:
		return s.appendAlone(ctx, streamID, expected, evs)
	case errors.Is(out.err, errVersionCheck):
		return s.explainFailure(ctx, streamID, expected, evs, out.err)
	case out.err != nil:
		return events.AppendResult{}, fmt.Errorf("append to %s: %w", streamID, out.err)
	}
	return out.res, nil
}

// runCommitter commits batches from the queue until ctx ends.
func (s *Store) runCommitter(ctx context.Context) {
	batch := make([]*appendRequest, 0, maxBatchAppends)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case req := <-s.appends:
			batch = append(batch, req)
		}
		eventCount := len(batch[0].evs)
	gather:
		for len(batch) < maxBatchAppends {
			select {
			case req := <-s.appends:
				batch = append(batch, req)
				eventCount += len(req.evs)
				if eventCount >= maxBatchEvents {
					break gather
				}
			default:
				break gather
			}
		}
		s.commitBatch(ctx, batch)
	}
}

// commitBatch commits a batch and answers each of its appends.
func (s *Store) commitBatch(ctx context.Context, batch []*appendRequest) {
	live := batch[:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.done <- appendOutcome{err: err}
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		// Nothing to share: the single-append path, with its own retries,
		// run by the committer so that appends queue while it commits.
		req := live[0]
		res, err := s.appendAlone(req.ctx, req.streamID, req.expected, req.evs)
		req.done <- appendOutcome{res: res, err: err, final: true}
		return
	}
	// Stream rows are locked in one order by every batch, so two batches
	// that share streams wait for each other instead of deadlocking.
	slices.SortStableFunc(live, func(a, b *appendRequest) int { return strings.Compare(a.streamID, b.streamID) })
	specs := make([]appendSpec, len(live))
	for i, req := range live {
		specs[i] = appendSpec{streamID: req.streamID, expected: req.expected, evs: req.evs}
	}
	results, errs, err := s.commitAppends(ctx, specs)
	if err != nil {
		for _, req := range live {
			req.done <- appendOutcome{alone: true}
		}
		return
	}
	s.announce()
	s.groupStats.batches.Add(1)
	s.groupStats.appends.Add(int64(len(live)))
	for i, req := range live {
		req.done <- appendOutcome{res: results[i], err: errs[i]}
	}
}
