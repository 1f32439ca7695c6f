package query

import (
	"context"
	"fmt"
	"time"

	"github.com/tellyou/tellyou/readmodels"
)

// ExportSink receives a user's export as Export reads it, one page at a
// time: for each session, BeginSession, then Messages once per page of the
// user's own messages (never with an empty page), then EndSession. An error
// it returns ends the export with that error.
type ExportSink interface {
	BeginSession(s readmodels.ExportSession) error
	Messages(page []readmodels.Message) error
	EndSession() error
}

// ExportQuery asks for a user's data export.
type ExportQuery struct {
	UserID string
	// PageSize is the most sessions, and the most messages, read in one
	// query (readmodels.DefaultExportPage when 0 or negative, at most
	// readmodels.MaxExportPage).
	PageSize int
	// FirstPage, when not nil, is the user's first page of sessions as
	// ExportSessions gave it, already read by the caller (which can then
	// refuse the export before it starts its answer); nil: Export reads it.
	FirstPage []readmodels.ExportSession
	// ReadTimeout, when above 0, bounds each read of a page: an export may
	// run for long, one read of it may not.
	ReadTimeout time.Duration
}

// withReadTimeout is ctx bounded by eq.ReadTimeout, if any.
func (eq ExportQuery) withReadTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if eq.ReadTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, eq.ReadTimeout)
}

// Export reads the sessions the user is a current member of, in session id
// byte order, and in each the messages the user sent, in seq order, and
// hands them to sink page by page: it holds one page at a time, never the
// whole export. Every page is read in its own snapshot, from the read
// models, which trail the log by the projection lag: the export is not one
// instant's picture (a message sent or edited while it runs may or may not
// be in it).
func (q *Queries) Export(ctx context.Context, eq ExportQuery, sink ExportSink) error {
	sessions := eq.FirstPage
	if sessions == nil {
		var err error
		if sessions, err = q.exportSessions(ctx, eq, ""); err != nil {
			return err
		}
	}
	for len(sessions) > 0 {
		for _, s := range sessions {
			if err := q.exportSession(ctx, eq, s, sink); err != nil {
				return err
			}
		}
		last := sessions[len(sessions)-1].SessionID
		var err error
		if sessions, err = q.exportSessions(ctx, eq, last); err != nil {
			return err
		}
	}
	return nil
}

// ExportSessions returns a page of the user's sessions for an export, after
// afterSessionID in byte order (see readmodels.Queries.ExportSessions).
func (q *Queries) ExportSessions(ctx context.Context, userID, afterSessionID string, pageSize int) ([]readmodels.ExportSession, error) {
	list, err := q.rm.ExportSessions(ctx, userID, afterSessionID, pageSize)
	if err != nil {
		return nil, fmt.Errorf("export sessions of %s: %w", userID, err)
	}
	return list, nil
}

func (q *Queries) exportSessions(ctx context.Context, eq ExportQuery, after string) ([]readmodels.ExportSession, error) {
	ctx, cancel := eq.withReadTimeout(ctx)
	defer cancel()
	return q.ExportSessions(ctx, eq.UserID, after, eq.PageSize)
}

// exportSession hands one session and the user's messages in it to sink. A
// page shorter than asked for is the last one.
func (q *Queries) exportSession(ctx context.Context, eq ExportQuery, s readmodels.ExportSession, sink ExportSink) error {
	if err := sink.BeginSession(s); err != nil {
		return err
	}
	limit := readmodels.ExportPageSize(eq.PageSize)
	var after int64
	for {
		readCtx, cancel := eq.withReadTimeout(ctx)
		page, err := q.rm.MessagesBySender(readCtx, s.SessionID, eq.UserID, after, limit)
		cancel()
		if err != nil {
			return fmt.Errorf("export messages of %s in %s: %w", eq.UserID, s.SessionID, err)
		}
		if len(page) > 0 {
			if err := sink.Messages(page); err != nil {
				return err
			}
			after = page[len(page)-1].Seq
		}
		if len(page) < limit {
			return sink.EndSession()
		}
	}
}
