package main

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// newDebugServer returns a server of the net/http/pprof handlers for addr, on
// a mux of its own: the profiles never share the public listener, and
// http.DefaultServeMux (where importing net/http/pprof also registers them) is
// never served. The profiles show goroutine stacks, command lines and memory,
// so addr should be a loopback or otherwise private address.
//
// There is no write timeout: /debug/pprof/profile and /debug/pprof/trace
// answer only after the ?seconds= they were asked to record.
func newDebugServer(addr string) *http.Server {
	mux := http.NewServeMux()
	// Index also serves the named profiles: /debug/pprof/goroutine, heap,
	// allocs, block, mutex, threadcreate.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}
