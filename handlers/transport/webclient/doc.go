// Package webclient serves TellYou's browser chat client: a page and its
// plain JavaScript modules, embedded in the binary and talking to the server
// only through the public wire contract (the WebSocket at /v1/ws and the HTTP
// API), and, when the operator turns it on, a development sign-in that mints a
// token for any user name.
//
// Routes (everything else goes to Config.API):
//
//	GET /                the page
//	GET /web/...         its scripts, styles and icon; /web/config.json tells
//	                     the page whether dev login is on and the recall window
//	POST /v1/dev/token   {"user":"NAME"} -> {"token","user","expiresAt"}, only
//	                     with Config.DevLogin; otherwise that path is the API's
//	                     (a JSON 404 like any unknown route)
//
// Dev login lets anyone who can reach the server act as any user: it is for
// trying TellYou out and for browser tests, never for a shared deployment.
package webclient
