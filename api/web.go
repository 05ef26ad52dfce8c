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
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(b)
	return nil
}
