package api

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// writeJSON answers with v encoded as compact JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"detail":"A server error occurred."}`)
	}
	writeRaw(ctx, status, b)
}

// writeRaw answers with an already encoded JSON body.
func writeRaw(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}
