package webclient

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// Paths the web client answers.
const (
	// StaticPrefix holds the page's scripts, styles and icon.
	StaticPrefix = "/web/"
	// ConfigPath tells the page which sign-in forms to offer.
	ConfigPath = StaticPrefix + "config.json"
	// DevTokenPath mints development tokens when Config.DevLogin is set.
	DevTokenPath = "/v1/dev/token"
)

// Defaults of Config.
const (
	// DefaultDevTokenTTL is how long a development token is valid.
	DefaultDevTokenTTL = time.Hour
	// DefaultRecallWindow is the server's default recall window, shown to the
	// page so that it offers recall only while the server accepts it.
	DefaultRecallWindow = 2 * time.Minute
	// DefaultEditWindow is the server's default edit window, shown to the
	// page so that it offers editing only while the server accepts it.
	DefaultEditWindow = 15 * time.Minute
)

// Config holds the web client's dependencies and settings.
type Config struct {
	// API answers every request that is not the web client's: the HTTP API,
	// health and metrics, and its JSON 404 and 405 answers. Required.
	API http.Handler
	// DevLogin turns on POST /v1/dev/token, which signs a token for any
	// valid user name without a password (TELLYOU_DEV_LOGIN). Off by default.
	DevLogin bool
	// Secret signs development tokens (HS256, at least auth.MinSecretBytes).
	// Required when DevLogin is set; unused otherwise.
	Secret []byte
	// DevTokenTTL is the lifetime of a development token (default
	// DefaultDevTokenTTL). The page asks for a fresh one before it expires.
	DevTokenTTL time.Duration
	// RecallWindow is the server's recall window (default DefaultRecallWindow).
	RecallWindow time.Duration
	// EditWindow is the server's edit window (default DefaultEditWindow).
	EditWindow time.Duration
	// Now is the clock tokens are minted with (default time.Now).
	Now func() time.Time
	// Logger notes each development token minted (default: discarded).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.DevTokenTTL == 0 {
		c.DevTokenTTL = DefaultDevTokenTTL
	}
	if c.RecallWindow == 0 {
		c.RecallWindow = DefaultRecallWindow
	}
	if c.EditWindow == 0 {
		c.EditWindow = DefaultEditWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports missing dependencies and impossible settings.
func (c Config) Validate() error {
	switch {
	case c.API == nil:
		return errors.New("webclient config: nil API")
	case c.DevLogin && len(c.Secret) < auth.MinSecretBytes:
		return errors.New("webclient config: DevLogin needs a Secret of at least auth.MinSecretBytes")
	case c.DevTokenTTL < 0:
		return errors.New("webclient config: negative DevTokenTTL")
	case c.RecallWindow < 0:
		return errors.New("webclient config: negative RecallWindow")
	case c.EditWindow < 0:
		return errors.New("webclient config: negative EditWindow")
	}
	return nil
}

// Handler serves the web client in front of the API. It is safe for
// concurrent use.
type Handler struct {
	cfg    Config
	files  map[string]staticFile
	config []byte
}

// New builds the handler. It refuses a config that Validate refuses (after
// defaults are applied).
func New(cfg Config) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	files, err := loadStaticFiles()
	if err != nil {
		return nil, err
	}
	config, err := encodeJSON(pageConfig{DevLogin: cfg.DevLogin, RecallWindowMs: cfg.RecallWindow.Milliseconds(),
		EditWindowMs: cfg.EditWindow.Milliseconds()})
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, files: files, config: config}, nil
}

// pageConfig is /web/config.json.
type pageConfig struct {
	DevLogin       bool  `json:"devLogin"`
	RecallWindowMs int64 `json:"recallWindowMs"`
	EditWindowMs   int64 `json:"editWindowMs"`
}

// ServeHTTP answers the web client's routes and hands every other request to
// Config.API. A web client path asked with a method it does not serve gets a
// JSON 405 with an Allow header, like the API's routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/" || path == ConfigPath || strings.HasPrefix(path, StaticPrefix):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		switch path {
		case "/":
			h.serveFile(w, r, "index.html")
		case ConfigPath:
			w.Header().Set("Cache-Control", "no-store")
			writeBody(w, r, http.StatusOK, "application/json", h.config)
		default:
			h.serveFile(w, r, strings.TrimPrefix(path, StaticPrefix))
		}
	case path == DevTokenPath && h.cfg.DevLogin:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, "POST")
			return
		}
		h.mintDevToken(w, r)
	default:
		h.cfg.API.ServeHTTP(w, r)
	}
}

var _ http.Handler = (*Handler)(nil)
