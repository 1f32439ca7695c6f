package chatclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is what a chat client needs. ServerURL, Token, In and Out are
// required; the rest have defaults.
type Config struct {
	// ServerURL is the server's base URL, http://host:port or https://...;
	// the WebSocket is opened at /v1/ws on the same host.
	ServerURL string
	// Token is the user's JWT.
	Token string
	// User is the token's user id. Default: the token's sub claim.
	User string
	// In is read line by line: text to send and commands. Its end ends the
	// client.
	In io.Reader
	// Out receives the chat, one line per message, receipt, answer or error.
	Out io.Writer
	// HTTPClient makes the HTTP requests and the WebSocket handshake.
	// Default: a client of its own.
	HTTPClient *http.Client
	// ReconnectMin and ReconnectMax bound the wait before reconnecting after
	// the connection dropped: it starts at ReconnectMin (default 250 ms) and
	// doubles up to ReconnectMax (default 10 s) while attempts fail.
	ReconnectMin, ReconnectMax time.Duration
	// SendTimeout bounds how long one message is tried (resent unchanged
	// over new connections, so the server stores it once) before the client
	// gives up on it. Default 30 s.
	SendTimeout time.Duration
	// Backlog is how many unread messages per session the client shows when
	// it first sees the session; older ones are left to /open and /history.
	// Default 50.
	Backlog int
	// PageSize is the number of messages /open and /history show, 1-200.
	// Default 20.
	PageSize int
}

func (c *Config) setDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = 250 * time.Millisecond
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 10 * time.Second
	}
	c.ReconnectMax = max(c.ReconnectMax, c.ReconnectMin)
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.Backlog <= 0 {
		c.Backlog = 50
	}
	if c.PageSize <= 0 {
		c.PageSize = 20
	}
	c.ServerURL = strings.TrimRight(c.ServerURL, "/")
}

// Validate reports the first thing wrong with the configuration.
func (c *Config) Validate() error {
	u, err := url.Parse(c.ServerURL)
	switch {
	case c.ServerURL == "":
		return errors.New("server URL is required")
	case err != nil:
		return fmt.Errorf("server URL %q: %w", c.ServerURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("server URL %q: scheme must be http or https", c.ServerURL)
	case u.Host == "":
		return fmt.Errorf("server URL %q: no host", c.ServerURL)
	case u.Path != "" && u.Path != "/" || u.RawQuery != "":
		return fmt.Errorf("server URL %q: give the base URL only, without a path or query", c.ServerURL)
	case c.Token == "":
		return errors.New("a token is required")
	case !validUserID(c.User):
		return fmt.Errorf("user id %q: want 1-64 characters of A-Z a-z 0-9 . _ -", c.User)
	case c.In == nil || c.Out == nil:
		return errors.New("input and output are required")
	case c.PageSize > 200:
		return fmt.Errorf("page size %d: at most 200", c.PageSize)
	}
	return nil
}

// websocketURL is ws(s)://host/v1/ws for the server's base URL.
func (c *Config) websocketURL() string {
	u, _ := url.Parse(c.ServerURL)
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = "/v1/ws"
	return u.String()
}
