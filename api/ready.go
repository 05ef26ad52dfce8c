package api

import "github.com/valyala/fasthttp"

// ready answers GET /readyz: 200 while the server takes writes, 503 with
// the reason when it is shutting down or its store refuses writes (the
// data volume is full, or a disk sync failed and only a restart helps). Unlike /healthz (alive), a load balancer uses it
// to send new clients elsewhere; reads keep working on a server that is
// not ready.
func (s *Server) ready(ctx *fasthttp.RequestCtx, _ *request) error {
	switch {
	case s.draining.Load():
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, map[string]string{"status": "shutting_down", "detail": "Server is shutting down."})
	case s.store.SyncFailed() != nil:
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, map[string]string{"status": "storage_failed", "detail": "A disk sync failed: writes and reads are refused until the server restarts."})
	case s.store.Writable() != nil:
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, map[string]string{"status": "storage_full", "detail": "Storage is full."})
	default:
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ready"})
	}
	return nil
}

// healthz answers GET /healthz: alive, with the socket counters operators
// watch.
func (s *Server) healthz(ctx *fasthttp.RequestCtx, _ *request) error {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"status": "ok", "connections": s.Connections(), "slow_consumers": s.SlowConsumers(),
	})
	return nil
}
