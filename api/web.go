package api

import (
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	"livechat/api/web"
)

// serveWeb serves the embedded chat page: / is index.html, /static/… the
// rest of its files.
func (s *Server) serveWeb(ctx *fasthttp.RequestCtx, p string) error {
	if !ctx.IsGet() && !ctx.IsHead() {
		return onlyGet(ctx)
	}
	setPageHeaders(&ctx.Response.Header)
	name := "index.html"
	if p != "/" {
		name = strings.TrimPrefix(p, "/static/")
	}
	if !fs.ValidPath(name) {
		return errNotFound
	}
	b, err := fs.ReadFile(web.FS, name)
	if err != nil {
		return errNotFound
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	ctx.SetContentType(ct)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBody(b)
	return nil
}

// pageCSP is the Content-Security-Policy of the chat page. The page has no
// inline script or style (api/web's tests keep it so) and talks only to its
// own origin, sockets included ('self' covers ws: and wss: of the same host),
// so everything else is refused: a message that somehow became markup could
// neither run nor load anything. frame-ancestors works only as a header,
// which is why the page's own <meta> policy is not enough.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// setPageHeaders marks an answer of the page's: no framing by other sites
// (clickjacking; X-Frame-Options for browsers that predate frame-ancestors),
// the CSP above, no MIME sniffing, no referrer.
func setPageHeaders(h *fasthttp.ResponseHeader) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
