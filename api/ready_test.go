package api

import (
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestReadyzReadyThenShuttingDown checks /readyz: 200 on a server that
// takes writes, 503 once shutdown has begun, while /healthz stays the
// liveness answer. (503 on a full volume is TestStorageFullOnTmpfs, in
// cmd/livechat.)
func TestReadyzReadyThenShuttingDown(t *testing.T) {
	ts := newTestServer(t)
	expectBody(t, ts.do(t, req{Method: "GET", Path: "/readyz"}), http.StatusOK, `{"status":"ready"}`)
	ts.close(t)
	// The listener is gone; ask the handler what a request still being
	// served on an open connection would be told.
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/readyz")
	ctx.Request.Header.SetHost("127.0.0.1")
	ts.srv.handle(&ctx)
	if got, want := ctx.Response.StatusCode(), http.StatusServiceUnavailable; got != want {
		t.Fatalf("readyz while shutting down: %d %s, want %d", got, ctx.Response.Body(), want)
	}
	if got, want := string(ctx.Response.Body()), `{"detail":"Server is shutting down.","status":"shutting_down"}`; got != want {
		t.Fatalf("readyz body %s, want %s", got, want)
	}
}
