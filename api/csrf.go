package api

import (
	"slices"

	"github.com/valyala/fasthttp"
)

// checkLoginOrigin refuses login CSRF: a page of another site posting a
// form to /user/v1/login/ would get the victim's browser the access_token
// cookie of an account the attacker chose, and a page that opens sockets
// with the cookie would then chat as that account. Browsers send an Origin
// header with every POST, so a login is accepted when
//   - it has no Origin: not a browser page (curl, scripts, apps);
//   - its Origin may use the cookie for sockets (socketOriginAllowed:
//     LiveChat's own, matched by host whatever the scheme, or listed in
//     --ws-origins);
//   - its Origin is named in --cors-origins. The "*" there does not
//     count: it lets any page call the API with a Bearer token, which is
//     not trust to log a browser in.
//
// "null" (a sandboxed frame, a page opened from disk) is an origin like
// any other: accepted only when listed. The answer is Django's CSRF
// refusal in DRF's shape.
func (s *Server) checkLoginOrigin(ctx *fasthttp.RequestCtx) error {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" || s.socketOriginAllowed(ctx) || origin != "*" && slices.Contains(s.cfg.CORSOrigins, origin) {
		return nil // the pages the cookie is for, or a page the operator named
	}
	return detailError(EFORBIDDEN, "CSRF Failed: Origin checking failed - "+truncate(origin, 100)+" does not match any trusted origins.")
}
