// Package httpapi serves TellYou's HTTP API (PROTOCOL.md, "HTTP"): the session
// list and group management, history pulls, the offline inbox and unread
// counts, the auditors' raw event history and live event feed (Server-Sent
// Events), and the unauthenticated operational endpoints /healthz, /readyz and
// /metrics.
//
// Every answer is JSON except the feed (text/event-stream) and /metrics
// (Prometheus text). Every refusal is a wire.Error, {"code","message"}, with the
// status wire.Error.HTTPStatus gives, except a wrong method: 405 with code
// bad_request and an Allow header. A panic in a handler is logged and answered
// with 500 internal. Every answer is counted in metrics.Metrics.HTTPRequests by
// route pattern and status code.
//
// Every request gets a correlation id: the client's X-Request-Id when it is
// 1-64 characters of [A-Za-z0-9._:-], a fresh UUID otherwise. The answer
// returns it in X-Request-Id, the events the request appends carry it as
// their metadata's correlationId, and every log line about the request
// carries it as "correlation_id", including the one "http request" line
// logged per answer (info level; debug for /healthz, /readyz and /metrics).
//
// The WebSocket endpoint /v1/ws is not served here; the gateway routes it
// elsewhere.
package httpapi
