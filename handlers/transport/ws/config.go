package ws

import (
	"errors"
	"log/slog"
	"time"

	"github.com/tellyou/tellyou/handlers/command"
	"github.com/tellyou/tellyou/handlers/delivery"
	"github.com/tellyou/tellyou/handlers/metrics"
	"github.com/tellyou/tellyou/handlers/query"
	"github.com/tellyou/tellyou/handlers/transport/auth"
)

// Limits bound what one connection, and one user's connections to this node,
// may cost. Zero values take the defaults.
type Limits struct {
	// MaxFrameBytes is the largest client frame read (default 64 KiB); a
	// larger frame closes the connection with 1009 (StatusMessageTooBig).
	MaxFrameBytes int64
	// MaxQueueBytes bounds the bytes of frames waiting to be written to one
	// connection (default 32 MiB): a frame that would take them past it
	// closes the connection with 1013 ("too slow: reconnect and sync"),
	// unless nothing waits (a single larger frame, such as a big sync
	// answer, goes out alone). It bounds memory, not speed: how fast a
	// client reads matters only through StallTimeout, and a client that
	// keeps reading is closed only if more than this waits for it at once.
	//
	// The default holds, twice over, a burst of 1,000 messages of 16 KiB
	// (about 16 MiB of frames), however slowly the client reads and however
	// fast the server pushes, so such a burst never closes a reading client
	// on any machine. What it costs: the queue holds the frames, not copies
	// (the hub encodes a push once and every recipient's queue holds the
	// same bytes), so 18,000 connections behind by the same 16 MiB burst
	// hold 16 MiB of frames, plus a 24-byte slot per frame and connection
	// (24 KiB a connection with 1,000 frames waiting, 430 MB for 18,000,
	// only while they wait): far from 18,000 times the bound. What a
	// connection can hold of its own is the answers to its own frames (sync
	// answers, rate limited): at most this bound while the client reads
	// slowly, and until StallTimeout once it stops reading.
	MaxQueueBytes int
	// StallTimeout is how long a connection's socket may accept no byte
	// while frames wait for it (default 20 s, as long as a client has to
	// answer a ping): then the connection is closed with 1013. A socket
	// takes bytes as the client reads, so a client that reads, however
	// slowly, never stalls. 20 s rides out a mobile link's retransmission
	// backoff (a lost segment is retried after 0.2, 0.4, 0.8 ... s), and
	// bounds how long a client that stopped reading holds its queue.
	StallTimeout time.Duration
	// MaxPipelined bounds the sends and acks of one connection started and
	// not yet answered (default 32): the reader reads on while they are
	// handled, and past the bound it stops reading until the oldest is
	// answered (see pipeline.go).
	MaxPipelined int
	// WindowWait is how long the reader waits for a place while the
	// pipelined frames fill MaxPipelined (default 4 s): frames read after
	// the window has been full that long are refused overloaded instead of
	// waiting, so that every frame is answered within WindowWait +
	// HandleTimeout (14 s) of reaching the connection even while the frames
	// before it each take their whole deadline (see takeWindow).
	WindowWait time.Duration
	// HandleTimeout bounds the handling of one client frame (default 10 s):
	// its context, and so every database call made for it, ends then, and a
	// frame not answered by then is answered unavailable (a send or ack at
	// the deadline itself, even while its command still waits; see
	// awaitDeadline).
	HandleTimeout time.Duration
	// SendRate and SendBurst limit one user's sends, across the user's
	// connections to this node (default 50 per second with bursts of 100).
	// A send over the limit is answered rate_limited.
	SendRate  float64
	SendBurst int
	// FrameRate and FrameBurst limit the other frames of one connection:
	// acks, recalls, syncs, typing, and frames refused as malformed, sends
	// among them (default 100 per second with bursts of 200). A frame over
	// the limit is not handled and is answered rate_limited, so that a client
	// flooding typing, sync or garbage frames costs the server at most this
	// much per connection.
	FrameRate  float64
	FrameBurst int
	// MaxConnsPerUser bounds one user's open connections to this node
	// (default 16). A connection over the limit is refused before the
	// upgrade with HTTP 429 and {"code":"rate_limited","message":"too many
	// connections for this user"}; a connection's slot is released when it
	// has closed. With the frame limits it bounds what one user can make this
	// node do: MaxConnsPerUser × FrameRate frames per second besides sends.
	MaxConnsPerUser int
	// PingInterval is how often the server pings an open connection (default
	// 30 s): one interval after it opened, then one interval after each pong.
	// A client that does not answer within PingTimeout (default 20 s) is
	// dropped, so a half-open connection does not linger until its token
	// expires. One goroutine per Handler keeps the schedule for all of its
	// connections.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// DisableCompression turns permessage-deflate (RFC 7692) off. By
	// default it is negotiated with every client that offers it (most
	// browsers do), without context takeover in either direction: each
	// frame is compressed on its own with a compressor borrowed from a pool
	// for that frame, so an idle connection holds no compression state. (With
	// context takeover every connection would keep a compressor and a 32 KB
	// window, over 1.2 MB, for its whole life.) A client that does not offer
	// it is served uncompressed. MaxFrameBytes bounds a compressed client
	// frame once decompressed.
	DisableCompression bool
	// CompressionThreshold is the size, in bytes, from which the server
	// compresses a frame it writes (default 1 KiB): acks, receipts, typing
	// and short messages, nearly all frames, go out as they are, which costs
	// no CPU and a few bytes; message pushes with long content and sync
	// answers are compressed.
	CompressionThreshold int
}

// Defaults of Limits.
const (
	DefaultMaxFrameBytes = 64 << 10
	DefaultMaxQueueBytes = 32 << 20
	DefaultStallTimeout  = 20 * time.Second
	DefaultHandleTimeout = 10 * time.Second
	DefaultMaxPipelined  = 32
	DefaultWindowWait    = 4 * time.Second
	DefaultSendRate      = 50
	DefaultSendBurst     = 100
	DefaultFrameRate     = 100
	DefaultFrameBurst    = 200
	// DefaultMaxConnsPerUser leaves room for every device of a user, and a
	// few reconnects whose old connection the server has not seen close yet.
	DefaultMaxConnsPerUser = 16
	DefaultPingInterval    = 30 * time.Second
	DefaultPingTimeout     = 20 * time.Second
	// DefaultCompressionThreshold: see Limits.CompressionThreshold.
	DefaultCompressionThreshold = 1 << 10
)

func (l *Limits) setDefaults() {
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if l.MaxQueueBytes <= 0 {
		l.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if l.StallTimeout <= 0 {
		l.StallTimeout = DefaultStallTimeout
	}
	if l.MaxPipelined <= 0 {
		l.MaxPipelined = DefaultMaxPipelined
	}
	if l.WindowWait <= 0 {
		l.WindowWait = DefaultWindowWait
	}
	if l.HandleTimeout <= 0 {
		l.HandleTimeout = DefaultHandleTimeout
	}
	if l.SendRate <= 0 {
		l.SendRate = DefaultSendRate
	}
	if l.SendBurst <= 0 {
		l.SendBurst = DefaultSendBurst
	}
	if l.FrameRate <= 0 {
		l.FrameRate = DefaultFrameRate
	}
	if l.FrameBurst <= 0 {
		l.FrameBurst = DefaultFrameBurst
	}
	if l.MaxConnsPerUser <= 0 {
		l.MaxConnsPerUser = DefaultMaxConnsPerUser
	}
	if l.PingInterval <= 0 {
		l.PingInterval = DefaultPingInterval
	}
	if l.PingTimeout <= 0 {
		l.PingTimeout = DefaultPingTimeout
	}
	if l.CompressionThreshold <= 0 {
		l.CompressionThreshold = DefaultCompressionThreshold
	}
}

// Config holds the handler's dependencies.
type Config struct {
	Commands *command.Commands
	Queries  *query.Queries
	// Hub delivers pushes to the connections and relays typing.
	Hub *delivery.Hub
	// Secret checks tokens (at least auth.MinSecretBytes).
	Secret  []byte
	Metrics *metrics.Metrics
	// Logger receives connection failures (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock tokens are checked against (default time.Now).
	Now    func() time.Time
	Limits Limits
}

func (c *Config) setDefaults() {
	c.Limits.setDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports missing dependencies.
func (c Config) Validate() error {
	switch {
	case c.Commands == nil:
		return errors.New("ws config: nil Commands")
	case c.Queries == nil:
		return errors.New("ws config: nil Queries")
	case c.Hub == nil:
		return errors.New("ws config: nil Hub")
	case c.Metrics == nil:
		return errors.New("ws config: nil Metrics")
	case len(c.Secret) < auth.MinSecretBytes:
		return errors.New("ws config: Secret shorter than auth.MinSecretBytes")
	}
	return nil
}
