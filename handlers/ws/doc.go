// Package ws serves the WebSocket endpoint GET /v1/ws of the wire contract
// (PROTOCOL.md) on github.com/coder/websocket.
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
// sent them), and a writer, which writes the frames of a bounded queue in
// order with a write timeout. Answers and pushes share the queue; nothing ever
// waits for room in it: a connection whose queue is full is closed with 1013
// (StatusTryAgainLater, "too slow: reconnect and sync") and re-syncs.
//
// An idle connection costs one goroutine, blocked in a read on a small stack,
// and a few KiB of state: the writer goroutine runs only while the queue holds
// frames, the queue grows with what it holds, one goroutine per handler pings
// every connection (see Limits.PingInterval), and the socket's read and write
// buffers are small or borrowed per frame (see readBufferSize).
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
//
// Close codes: 1009 for a frame over Limits.MaxFrameBytes, 1008 ("token
// expired") when the token's exp passes, 1013 for a full queue, 1001 ("server
// shutting down") at Shutdown.
package ws
