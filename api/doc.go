// Package api is LiveChat's fasthttp front end: the router, the REST
// handlers of PROTOCOL.md, JWT authentication, CORS and host checks, the
// WebSocket upgrade, and the connection type that carries a session's
// frames (it implements actors.Sink).
//
// Concurrency: REST handlers run on fasthttp's goroutines and talk to the
// actors through actors.Engine with timeouts; they read the store directly
// for queries. Each socket has exactly one reader (the upgraded handler's
// goroutine) and at most one writer goroutine, started when frames are
// queued and gone when the queue is empty, so an idle socket costs one
// goroutine.
//
// Observability: every request passes through handle, which records it in
// Metrics and writes its access line (accesslog.go says what is logged and
// at which level); sockets log their open and close (socketlog.go).
// Metrics' counters are safe for concurrent use and cost an atomic add on
// the per-frame path.
package api
