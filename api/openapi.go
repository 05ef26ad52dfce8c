package api

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// openAPIDocument describes the REST API in OpenAPI 3. It is written by
// hand beside the handlers; TestOpenAPIMatchesTheServer checks that every
// route of the router is in it and that the server answers every operation
// as it says.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves openAPIDocument at GET /openapi.json.
func (s *Server) openAPI(ctx *fasthttp.RequestCtx, _ *request) error {
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	writeRaw(ctx, fasthttp.StatusOK, openAPIDocument)
	return nil
}
