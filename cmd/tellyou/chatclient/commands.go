package chatclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxContentBytes is the largest message content the server takes.
const maxContentBytes = 32 << 10

// errQuit ends the client when /quit is typed.
var errQuit = errors.New("quit")

const helpText = `commands:
  /sessions              your sessions, with unread counts
  /open SESSION          switch to a session (its id, a group's title or the other user) and show its latest messages
  /to USER               chat with USER
  /group TITLE USER...   create a group with these members and switch to it ("quote a title with spaces")
  /history               show older messages of the open session
  /recall MESSAGEID      withdraw one of your messages in the open session; /recall last: your latest
  /edit MESSAGEID TEXT   replace the text of one of your messages (MESSAGEID or last, as for /recall)
  /react MESSAGEID EMOJI react to a message of the open session; /unreact MESSAGEID EMOJI takes it back
  /search WORDS          find messages in your sessions ("a phrase", -word to exclude), best first
  /mute, /unmute         stop or resume offline notifications of the open session
  /help                  this list
  /quit                  leave (so does the end of input)
any other line is sent to the open session; start it with // to send a line beginning with /`

// command is one parsed command line.
type command struct {
	name string   // with its slash: "/open"
	args []string // words; "double quotes" keep spaces in one word
}

// arity is how many arguments each command takes: min, and max (-1: any).
var arity = map[string][2]int{
	"/sessions": {0, 0}, "/open": {1, -1}, "/to": {1, 1}, "/group": {2, -1},
	"/history": {0, 0}, "/recall": {1, 1}, "/help": {0, 0}, "/quit": {0, 0},
	"/edit": {2, -1}, "/react": {2, 2}, "/unreact": {2, 2},
	"/search": {1, -1}, "/mute": {0, 0}, "/unmute": {0, 0},
}

var usages = map[string]string{
	"/sessions": "/sessions", "/open": "/open SESSION", "/to": "/to USER", "/group": "/group TITLE USER...",
	"/history": "/history", "/recall": "/recall MESSAGEID", "/help": "/help", "/quit": "/quit",
	"/edit": "/edit MESSAGEID TEXT", "/react": "/react MESSAGEID EMOJI", "/unreact": "/unreact MESSAGEID EMOJI",
	"/search": "/search WORDS", "/mute": "/mute", "/unmute": "/unmute",
}

// parseCommand splits a line that starts with one slash into a known
// command and its arguments.
func parseCommand(line string) (command, error) {
	words, err := splitWords(line)
	if err != nil {
		return command{}, err
	}
	cmd := command{name: words[0], args: words[1:]}
	n, known := arity[cmd.name]
	if !known {
		return command{}, fmt.Errorf("unknown command %s (/help lists the commands)", cmd.name)
	}
	if len(cmd.args) < n[0] || n[1] >= 0 && len(cmd.args) > n[1] {
		return command{}, fmt.Errorf("usage: %s", usages[cmd.name])
	}
	return cmd, nil
}

// splitWords splits on spaces; a double-quoted part keeps its spaces.
func splitWords(line string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case !quoted && (r == ' ' || r == '\t'):
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, word.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// execute runs one input line: text to send, or a command. Failures are
// shown to the user; only /quit returns an error (errQuit).
func (c *Client) execute(ctx context.Context, line string) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		c.report(c.sendText(ctx, strings.TrimPrefix(line, "/")))
		return nil
	}
	cmd, err := parseCommand(line)
	if err != nil {
		c.report(err)
		return nil
	}
	switch cmd.name {
	case "/quit":
		return errQuit
	case "/help":
		c.out.printf("%s", helpText)
	case "/sessions":
		c.report(c.listSessions(ctx))
	case "/open":
		c.report(c.open(ctx, strings.Join(cmd.args, " ")))
	case "/to":
		c.report(c.to(ctx, cmd.args[0]))
	case "/group":
		c.report(c.group(ctx, cmd.args[0], cmd.args[1:]))
	case "/history":
		c.report(c.history(ctx))
	case "/recall":
		c.report(c.recall(ctx, cmd.args[0]))
	case "/edit":
		c.report(c.edit(ctx, cmd.args[0], strings.Join(cmd.args[1:], " ")))
	case "/react", "/unreact":
		c.report(c.react(ctx, cmd.args[0], cmd.args[1], cmd.name == "/unreact"))
	case "/mute", "/unmute":
		c.report(c.mute(ctx, cmd.name == "/mute"))
	case "/search":
		// The words as typed: quotes mark phrases for the server.
		c.report(c.search(ctx, strings.TrimSpace(strings.TrimPrefix(line, "/search"))))
	}
	return nil
}

// report shows a command's failure, if any.
func (c *Client) report(err error) {
	if err != nil {
		c.out.errorf("%v", err)
	}
}

// errNoSession is the answer to text or a command that needs an open session.
var errNoSession = errors.New("no session open: /to USER, /open SESSION or /group TITLE USER... first")

// sendText sends text to the open session and shows it once the server has
// stored it. A connection lost before the answer is survived by sending the
// same frame again on the next connection, and an overloaded answer by
// sending it again after the server's hint (link.request does): the
// clientMessageId stays, so the server stores it once. Run reads the next
// line only when this one is stored or given up, so messages go in the order
// they were typed and none overtakes one the server has not taken yet.
func (c *Client) sendText(ctx context.Context, text string) error {
	id, peer := c.tl.current()
	if id == "" {
		return errNoSession
	}
	if len(text) > maxContentBytes {
		return fmt.Errorf("message too long: %d bytes, at most %d", len(text), maxContentBytes)
	}
	frame := sendFrame{Type: "send", MessageType: 1, Content: text,
		ClientMessageID: "chat-" + uuid.NewString(), ClientTimestamp: time.Now().UnixMilli()}
	if peer != "" {
		frame.ToUserID = peer
	} else {
		frame.SessionID = id
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.SendTimeout)
	defer cancel()
	for {
		l, err := c.waitConn(ctx)
		if err != nil {
			return fmt.Errorf("message not confirmed by the server: %w", err)
		}
		f, err := l.request(ctx, func(fid string) any { frame.ID = fid; return frame })
		if errors.Is(err, errLinkClosed) {
			continue
		}
		if err != nil {
			return fmt.Errorf("message not confirmed by the server: %w", err)
		}
		if f.Type == "error" {
			refused := f.serverError()
			if refused.Temporary() && sleep(ctx, 500*time.Millisecond) {
				continue
			}
			return fmt.Errorf("message refused: %w", refused)
		}
		if f.Type != "sendAck" {
			return fmt.Errorf("server answered a send with %q", f.Type)
		}
		c.requestSyncs(c.deliver([]Message{{MessageID: f.MessageID, SessionID: f.SessionID, Seq: f.Seq,
			SenderID: c.cfg.User, MessageType: 1, Content: text, ServerTimestamp: f.ServerTimestamp}}))
		return nil
	}
}
