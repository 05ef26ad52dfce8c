package api

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// hostAllowed applies ALLOWED_HOSTS as Django does: the Host header without
// its port must equal an entry, fall under a ".domain" entry, or "*" is set.
func (s *Server) hostAllowed(hostPort []byte) bool {
	host := strings.ToLower(string(hostPort))
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	if host == "" {
		return false
	}
	for _, h := range s.cfg.AllowedHosts {
		h = strings.ToLower(h)
		switch {
		case h == "*", h == host:
			return true
		case strings.HasPrefix(h, ".") && (host == h[1:] || strings.HasSuffix(host, h)):
			return true
		}
	}
	return false
}

// cors adds CORS headers for an allowed Origin: any by default, since the
// API authenticates with Bearer tokens, not cookies.
func (s *Server) cors(ctx *fasthttp.RequestCtx) {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 || !s.corsAllowed(origin) {
		return
	}
	h := &ctx.Response.Header
	h.SetBytesV("Access-Control-Allow-Origin", origin)
	h.Set("Vary", "Origin")
	if ctx.IsOptions() {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

func (s *Server) corsAllowed(origin []byte) bool {
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" || o == string(origin) {
			return true
		}
	}
	return false
}

// bearer reads an "Authorization: Bearer <token>" header as SimpleJWT
// does: no header, or another scheme, is no credentials (ok is false); a
// Bearer header that is not two space-separated values is an error.
func bearer(ctx *fasthttp.RequestCtx) (token string, ok bool, err error) {
	return bearerHeader(&ctx.Request.Header)
}

// bearerHeader is bearer for headers alone (before the body is read).
func bearerHeader(h *fasthttp.RequestHeader) (token string, ok bool, err error) {
	parts := strings.Fields(string(h.Peek("Authorization")))
	if len(parts) == 0 || !strings.EqualFold(parts[0], "Bearer") {
		return "", false, nil
	}
	if len(parts) != 2 {
		return "", true, errBadAuthHeader
	}
	return parts[1], true, nil
}

// clientAddr is the peer's IP address, the key of per-address limits.
func clientAddr(ctx *fasthttp.RequestCtx) string { return ctx.RemoteIP().String() }
