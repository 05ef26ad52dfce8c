package api

import (
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"livechat/persistence"
)

// serveMedia answers GET and HEAD under /media/, with no authentication:
// pictures are public and their names cannot be guessed. Only a user's
// current picture is served. Any other well-formed picture name under an
// existing user's folder (a replaced or removed picture) redirects to the
// current one, or is 404 when the user has none; messages keep the URL
// they were sent with, so history shows the current picture. Names are
// parsed strictly and never used as paths as given.
func (s *Server) serveMedia(ctx *fasthttp.RequestCtx, path string) error {
	if !ctx.IsGet() && !ctx.IsHead() {
		return onlyGet(ctx)
	}
	user, name, ok := parsePicturePath(strings.TrimPrefix(path, "/media/"))
	if !ok {
		return errNotFound
	}
	u, err := s.store.UserByID(user)
	if err == nil && u.ProfilePicture != name && s.store.Replicated() {
		// In a cluster the picture may have been set on another node an
		// instant ago: read again once this node has applied what the
		// cluster answered before (the upload's answer included).
		if s.store.Sync() == nil {
			u, err = s.store.UserByID(user)
		}
	}
	if errors.Is(err, persistence.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	switch u.ProfilePicture {
	case "":
		return errNotFound
	case name:
	default:
		ctx.Response.Header.Set("Location", "/media/"+u.ProfilePicture)
		ctx.Response.Header.Set("Cache-Control", "no-cache")
		ctx.SetStatusCode(fasthttp.StatusFound)
		return nil
	}
	data, err := s.store.Media().Get(name)
	if errors.Is(err, persistence.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	h := &ctx.Response.Header
	h.SetContentType("image/jpeg")
	if strings.HasSuffix(name, ".png") {
		h.SetContentType("image/png")
	}
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(data)
	return nil
}

// parsePicturePath reads profile_pics/<user id>/<32 lowercase hex>.<jpg|png>,
// the only names pictures have, and returns the user and the name.
func parsePicturePath(p string) (user int64, name string, ok bool) {
	rest, ok := strings.CutPrefix(p, picturePrefix)
	if !ok {
		return 0, "", false
	}
	idText, file, ok := strings.Cut(rest, "/")
	if !ok || len(idText) == 0 || len(idText) > 18 || idText[0] == '0' {
		return 0, "", false
	}
	for i := 0; i < len(idText); i++ {
		c := idText[i]
		if c < '0' || c > '9' {
			return 0, "", false
		}
		user = user*10 + int64(c-'0')
	}
	stem, ext, ok := strings.Cut(file, ".")
	if !ok || len(stem) != 32 || ext != "jpg" && ext != "png" {
		return 0, "", false
	}
	for i := 0; i < len(stem); i++ {
		if c := stem[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return 0, "", false
		}
	}
	return user, p, true
}
