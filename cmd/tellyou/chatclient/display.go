package chatclient

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
)

// printer writes whole lines to the user's terminal; it is safe for
// concurrent use, and a line is never split by another.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, strings.TrimRight(line, "\n")+"\n")
}

// errorf shows a failed command or a refusal from the server.
func (p *printer) errorf(format string, args ...any) {
	p.printf("error: "+format, args...)
}

// messageLine renders a message as "[label] sender: text". Content from
// other users is made safe for a terminal: control characters (escape
// sequences among them) are shown as '?', and further lines of a multi-line
// message are indented under the first.
func messageLine(label string, m Message) string {
	text := terminalSafe(m.Content)
	switch {
	case m.Recalled:
		text = "(recalled)"
	case m.Erased:
		text = "(erased)"
	case m.MessageType != 1:
		text = fmt.Sprintf("(type %d) %s", m.MessageType, text)
	}
	return "[" + label + "] " + m.SenderID + ": " + text
}

// terminalSafe replaces control characters, except tabs and line breaks,
// with '?', drops carriage returns and indents continuation lines.
func terminalSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("\n    ")
		case r == '\r':
		case r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || r == '\u202e' || r == '\u202d':
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// directPeer returns the other member of the direct session id
// d:<a>:<b>, or "" when id is not a direct session of me.
func directPeer(id, me string) string {
	rest, ok := strings.CutPrefix(id, "d:")
	if !ok {
		return ""
	}
	a, b, ok := strings.Cut(rest, ":")
	switch {
	case !ok:
		return ""
	case a == me:
		return b
	case b == me:
		return a
	}
	return ""
}

// directID is the id of the direct session between two users.
func directID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// validUserID reports whether s is a user id: 1-64 characters of
// A-Z a-z 0-9 . _ -.
func validUserID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
