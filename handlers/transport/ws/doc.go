// Package ws serves the WebSocket endpoint GET /v1/ws of the wire contract
// (docs/protocol.md) on github.com/coder/websocket.
//
// A request is authenticated before the upgrade (auth.FromRequest: the
// Authorization header or ?token=); a missing, forged or expired token gets
// HTTP 401 with {"code":"unauthorized","message":...}; a user who already
// holds Limits.MaxConnsPerUser connections to this node gets HTTP 429 with
// {"code":"rate_limited",...}. Any origin may connect: clients authenticate
// with a bearer token, never with cookies, so a page of another site cannot
// borrow a user's credentials and cross-site request forgery does not apply.
//
// Each connection has one reader, which handles the client's frames one at a
// time in the order they arrive (so a device's sends get seqs in the order it
// sent them), and a writer, which runs only while frames wait. Answers and
// pushes share one queue; nothing ever waits for room in it.
//
// Order: frames reach the client in the order they were queued (Enqueue).
// The writer takes queued frames in runs of up to 256 KiB and puts each run
// on the socket with one write (one syscall for many frames). Control frames
// (pongs, pings, the close frame) go out as soon as the library writes them,
// after the bytes already taken and never later than the end of the run in
// progress.
//
// When a connection is closed: a client that reads, however slowly and
// however far a burst puts it behind, is never closed for it. The server
// closes a connection with 1013 (StatusTryAgainLater, "too slow: reconnect
// and sync") when its socket accepts no bytes for Limits.StallTimeout (20 s)
// while frames wait, or when a frame would take the bytes waiting for it
// past Limits.MaxQueueBytes (32 MiB). It then drops what is queued and
// writes the close frame after the bytes already on their way; the library
// gives that write, and the wait for the client's close frame, 5 s each,
// after which the connection is dropped. Queued reports the bytes waiting,
// for the push hub to see a connection that is behind. Other closes: 1009
// for a frame over Limits.MaxFrameBytes, 1008 ("token expired") when the
// token's exp passes, 1001 ("server shutting down") at Shutdown, after what
// is queued. A client that does not answer a ping within Limits.PingTimeout,
// or whose socket fails, is dropped without a close frame.
//
// What an idle connection costs: an open connection with nothing to read,
// nothing to write and no ping in flight holds no goroutine. When its reader
// finds no byte of a next message, it parks the connection with the
// handler's idle poller (an epoll instance of its own, waited for by one
// goroutine for all connections) and ends; a new reader starts when bytes
// arrive. What stays is the connection's state, here, in the library, in the
// socket and in the hub: under 4 KiB of heap, which the collector's headroom
// doubles at the default GOGC. Measured at 18,000 idle connections: 7.4-8.5
// KiB of RSS per connection, pings included, and 36 goroutines in the whole
// server. The writer runs only while frames wait and borrows its buffer from
// a pool for a run, the queue gives its slots back once drained, the read
// buffer is 128 bytes, the frame rate limiter comes with the first frame,
// the token's expiry timer only once the expiry is near, and one goroutine
// per handler pings every connection (see Limits.PingInterval). Where there
// is no epoll (not Linux), an idle connection keeps a reader goroutine
// blocked in a read.
//
// Frames are limited twice, each answered rate_limited over its limit and
// never closing the connection: a user's well-formed sends, across the user's
// connections (Limits.SendRate), and every other frame of one connection,
// malformed ones included (Limits.FrameRate).
//
// permessage-deflate is negotiated with clients that offer it, without
// context takeover, and frames from Limits.CompressionThreshold up are
// compressed: see Limits.DisableCompression for the memory reasoning.
//
// Every client frame gets a correlation id, "<connection id>.<n>": the
// correlation id of the events it appends and the "correlation_id" of every
// log line about it (see request). Each handled frame is logged at debug
// level with its answer.
package ws
