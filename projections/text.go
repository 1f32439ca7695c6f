package projections

import (
	"bytes"
	"encoding/json"
	"strings"
)

// PostgreSQL cannot store U+0000 in text. Rather than stop a projection (and
// with it every user's history) on a message or title that carries one, the
// read models show it as U+FFFD. The log keeps the original. (ext is stored as
// json, which keeps a \u0000 escape as it is.)

// pgText returns s with every U+0000 replaced by U+FFFD.
func pgText(s string) string {
	if !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// pgJSON returns ext ready for a json column: nil for none or JSON null.
func pgJSON(ext json.RawMessage) []byte {
	trimmed := bytes.TrimSpace(ext)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	return trimmed
}
