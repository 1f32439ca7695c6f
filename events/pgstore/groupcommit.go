package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tellyou/tellyou/events"
)

// Group commit: concurrent Append calls share one transaction, so one commit
// (one WAL flush, the dominant cost of a small append) makes many appends
// durable, and their statements travel pipelined, two round trips per batch
// whatever its size.
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
	// Config.Committers is 0: enough to keep the server busy while one batch
	// waits for its WAL flush, few enough to leave the pool to readers.
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
	var (
		results []events.AppendResult
		errs    []error
		err     error
	)
	for attempt := 0; ; attempt++ {
		results, errs, err = s.appendBatchInNewTx(ctx, live)
		if errors.Is(err, errStreamOrder) && attempt < maxOrderRetries {
			continue
		}
		break
	}
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

// appendBatchInNewTx appends every request of the batch in one transaction:
// the version steps of all of them pipelined in one round trip, then the
// inserts of those whose version check passed in a second. It returns each
// request's result or errVersionCheck, and an error that fails the whole
// batch (the transaction is rolled back).
func (s *Store) appendBatchInNewTx(ctx context.Context, batch []*appendRequest) ([]events.AppendResult, []error, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit

	versions := &pgx.Batch{}
	for _, req := range batch {
		sql, args := versionStep(req.streamID, req.expected, int64(len(req.evs)))
		versions.Queue(sql, args...)
	}
	lastVersions := make([]int64, len(batch))
	errs := make([]error, len(batch))
	br := tx.SendBatch(ctx, versions)
	for i := range batch {
		err := br.QueryRow().Scan(&lastVersions[i])
		if errors.Is(err, pgx.ErrNoRows) {
			errs[i] = errVersionCheck
			continue
		}
		if err != nil {
			br.Close()
			return nil, nil, fmt.Errorf("advance stream version: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, nil, fmt.Errorf("advance stream versions: %w", err)
	}

	inserts := &pgx.Batch{}
	offset := 0
	for i, req := range batch {
		if errs[i] != nil {
			continue
		}
		count := int64(len(req.evs))
		inserts.Queue(sqlInsertEvents, insertArgs(req.streamID, lastVersions[i]-count+1, offset, req.evs)...)
		offset += len(req.evs)
	}
	results := make([]events.AppendResult, len(batch))
	if inserts.Len() > 0 {
		br = tx.SendBatch(ctx, inserts)
		for i, req := range batch {
			if errs[i] != nil {
				continue
			}
			var inserted, lastPosition int64
			if err := br.QueryRow().Scan(&inserted, &lastPosition); err != nil {
				br.Close()
				return nil, nil, fmt.Errorf("insert events: %w", err)
			}
			if inserted == 0 {
				br.Close()
				return nil, nil, errStreamOrder
			}
			count := int64(len(req.evs))
			results[i] = events.AppendResult{
				FirstVersion: lastVersions[i] - count + 1,
				LastVersion:  lastVersions[i],
				Position:     events.Position(lastPosition),
			}
		}
		if err := br.Close(); err != nil {
			return nil, nil, fmt.Errorf("insert events: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("commit: %w", err)
	}
	return results, errs, nil
}

// versionStep returns the statement that checks and advances a stream's
// version for an append of count events (see the sqlCreateStream family).
func versionStep(streamID string, expected events.ExpectedVersion, count int64) (string, []any) {
	switch expected {
	case events.NoStream:
		return sqlCreateStream, []any{streamID, count}
	case events.AnyVersion:
		return sqlAdvanceAnyStream, []any{streamID, count}
	default:
		return sqlAdvanceStream, []any{streamID, count, int64(expected)}
	}
}

// insertArgs returns sqlInsertEvents' arguments for evs appended to a stream
// from firstVersion, at offset within the transaction.
func insertArgs(streamID string, firstVersion int64, offset int, evs []events.EventData) []any {
	ids := make([]pgtype.UUID, len(evs))
	types := make([]string, len(evs))
	data := make([]string, len(evs))
	metadata := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = pgtype.UUID{Bytes: e.EventID, Valid: true}
		types[i] = e.Type
		data[i] = string(e.Data)
		metadata[i] = string(e.Metadata)
	}
	return []any{streamID, firstVersion, int64(offset), ids, types, data, metadata}
}
