package webclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// encodeJSON renders v as one line of compact JSON.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return buf.Bytes(), nil
}

// writeBody answers with body, or with headers only for HEAD.
func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // a client gone away is no error of ours
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		// Every answer is a struct of strings and numbers: a programming error.
		status = http.StatusInternalServerError
		body = []byte(`{"code":"internal","message":"internal error"}` + "\n")
	}
	writeBody(w, r, status, "application/json", body)
}

// writeError answers with a wire error and its status, as the API does.
func writeError(w http.ResponseWriter, r *http.Request, err *wire.Error) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, err.HTTPStatus(), err)
}

// methodNotAllowed answers 405 with the methods the path serves.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusMethodNotAllowed, wire.BadRequest("method "+r.Method+" is not allowed here; allowed: "+allow))
}
