package chatclient

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line    string
		want    command
		wantErr string
	}{
		{line: "/sessions", want: command{name: "/sessions", args: []string{}}},
		{line: "/open  g:1 ", want: command{name: "/open", args: []string{"g:1"}}},
		{line: "/open book club", want: command{name: "/open", args: []string{"book", "club"}}},
		{line: `/group "book club" bob  carol`, want: command{name: "/group", args: []string{"book club", "bob", "carol"}}},
		{line: `/group a""b bob`, want: command{name: "/group", args: []string{"ab", "bob"}}},
		{line: "/recall last", want: command{name: "/recall", args: []string{"last"}}},
		{line: "/quit", want: command{name: "/quit", args: []string{}}},
		{line: "/quit now", wantErr: "usage: /quit"},
		{line: "/to", wantErr: "usage: /to USER"},
		{line: "/group team", wantErr: "usage: /group TITLE USER..."},
		{line: "/recall", wantErr: "usage: /recall MESSAGEID"},
		{line: "/Sessions", wantErr: "unknown command /Sessions"},
		{line: "/", wantErr: "unknown command /"},
		{line: `/group "team bob`, wantErr: "unterminated quote"},
	} {
		got, err := parseCommand(tt.line)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseCommand(%q) = %v, %v; want error %q", tt.line, got, err, tt.wantErr)
			}
		case err != nil || got.name != tt.want.name || !reflect.DeepEqual(append([]string{}, got.args...), tt.want.args):
			t.Errorf("parseCommand(%q) = %#v, %v; want %#v", tt.line, got, err, tt.want)
		}
	}
}

func TestMessageLineIsSafeForATerminal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		m    Message
		want string
	}{
		{Message{SenderID: "bob", MessageType: 1, Content: "hi"}, "[team] bob: hi"},
		{Message{SenderID: "bob", MessageType: 1, Content: "\x1b[2Jgone\x07"}, "[team] bob: ?[2Jgone?"},
		{Message{SenderID: "bob", MessageType: 1, Content: "two\r\nlines"}, "[team] bob: two\n    lines"},
		{Message{SenderID: "bob", MessageType: 1, Content: "a\u202eb\u009bc\td"}, "[team] bob: a?b?c\td"},
		{Message{SenderID: "bob", MessageType: 1, Recalled: true}, "[team] bob: (recalled)"},
		{Message{SenderID: "bob", MessageType: 1, Erased: true}, "[team] bob: (erased)"},
		{Message{SenderID: "bob", MessageType: 7, Content: "{}"}, "[team] bob: (type 7) {}"},
	} {
		if got := messageLine("team", tt.m); got != tt.want {
			t.Errorf("messageLine(%+v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestDirectSessionIDs(t *testing.T) {
	t.Parallel()
	if got := directID("bob", "alice"); got != "d:alice:bob" {
		t.Errorf("directID(bob, alice) = %q", got)
	}
	for _, tt := range []struct{ id, me, want string }{
		{"d:alice:bob", "alice", "bob"}, {"d:alice:bob", "bob", "alice"},
		{"d:alice:bob", "carol", ""}, {"g:1234", "alice", ""}, {"d:alice", "alice", ""},
	} {
		if got := directPeer(tt.id, tt.me); got != tt.want {
			t.Errorf("directPeer(%q, %q) = %q, want %q", tt.id, tt.me, got, tt.want)
		}
	}
}
