package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
	"github.com/tellyou/tellyou/readmodels"
)

// exportWriteTimeout bounds one page's write to the client of an export: a
// client that stops reading is dropped instead of holding the handler.
const exportWriteTimeout = 30 * time.Second

// export answers GET /v1/users/me/export: the user's sessions and the
// messages the user sent in them, as one JSON document (see "Export" in
// docs/protocol.md), written while the read models are paged, page by page,
// never built in memory whole.
//
// A failure before the first byte is answered as any other; one after it
// aborts the response (http.ErrAbortHandler), so that the client sees a
// transfer cut short, never a document that parses but lacks data.
func (a *API) export(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	eq := query.ExportQuery{UserID: p.UserID, PageSize: a.cfg.ExportPage, ReadTimeout: a.cfg.RequestTimeout}
	first, err := a.cfg.Queries.ExportSessions(r.Context(), p.UserID, "", a.cfg.ExportPage)
	if err != nil {
		return err
	}
	eq.FirstPage = first
	now := a.cfg.Now().UTC()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="tellyou-export-`+now.Format("2006-01-02")+`.json"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	out := &exportWriter{rc: http.NewResponseController(w), buf: bufio.NewWriterSize(w, 32<<10)}
	err = out.begin(p.UserID, now.UnixMilli())
	if err == nil {
		err = a.cfg.Queries.Export(r.Context(), eq, out)
	}
	if err == nil {
		err = out.end()
	}
	if err != nil {
		if r.Context().Err() == nil {
			a.logOf(r).Error("export aborted mid-answer", "user", p.UserID, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// exportWriter writes the export document to the client as query.Export
// hands it over, flushing it after every page.
type exportWriter struct {
	rc  *http.ResponseController
	buf *bufio.Writer
	// sessions and messages count what was written, to place the commas.
	sessions, messages int
}

var _ query.ExportSink = (*exportWriter)(nil)

func (e *exportWriter) begin(userID string, exportedAt int64) error {
	id, err := encodeJSON(userID)
	if err != nil {
		return err
	}
	e.buf.WriteString(`{"userId":`)
	e.buf.Write(id)
	e.buf.WriteString(`,"exportedAt":`)
	e.buf.WriteString(strconv.FormatInt(exportedAt, 10))
	e.buf.WriteString(`,"sessions":[`)
	return e.flush() // the client sees the answer begin
}

// BeginSession writes the session's fields and opens its messages.
func (e *exportWriter) BeginSession(s readmodels.ExportSession) error {
	if s.Members == nil {
		s.Members = []string{}
	}
	obj, err := encodeJSON(s)
	if err != nil {
		return err
	}
	if e.sessions > 0 {
		e.buf.WriteByte(',')
	}
	e.sessions++
	e.messages = 0
	e.buf.Write(obj[:len(obj)-1]) // the object without its closing brace
	e.buf.WriteString(`,"messages":[`)
	return nil
}

// Messages writes one page of the user's messages and sends it on.
func (e *exportWriter) Messages(page []readmodels.Message) error {
	for _, m := range page {
		obj, err := encodeJSON(m)
		if err != nil {
			return err
		}
		if e.messages > 0 {
			e.buf.WriteByte(',')
		}
		e.messages++
		e.buf.Write(obj)
	}
	return e.flush()
}

// EndSession closes the session's messages and the session.
func (e *exportWriter) EndSession() error {
	_, err := e.buf.WriteString(`]}`)
	return err
}

func (e *exportWriter) end() error {
	e.buf.WriteString("]}\n")
	return e.flush()
}

// flush sends what is buffered to the client and flushes the connection.
func (e *exportWriter) flush() error {
	if err := e.rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("set export write deadline: %w", err)
	}
	if err := e.buf.Flush(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	if err := e.rc.Flush(); err != nil {
		return fmt.Errorf("flush export: %w", err)
	}
	return nil
}
