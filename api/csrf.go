package api

import (
	"net/url"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// checkLoginOrigin refuses login CSRF: a page of another site posting a
// form to /user/v1/login/ would get the victim's browser the access_token
// cookie of an account the attacker chose, and LiveChat's own page would
// then open sockets as that account. Browsers send an Origin header with
// every POST, so a login is accepted when
//   - it has no Origin: not a browser page (curl, scripts, apps);
//   - its Origin is LiveChat's own, matched by host whatever the scheme
//     (as for cookie-authenticated sockets, so that a page served over
//     https by a TLS-terminating proxy is LiveChat's own);
//   - its Origin is listed in --ws-origins (pages trusted with the cookie)
//     or named in --cors-origins. The "*" of --cors-origins does not count:
//     it lets any page call the API with a Bearer token, which is not trust
//     to log a browser in.
//
// "null" (a sandboxed frame, a page opened from disk) is an origin like
// any other: accepted only when listed. The answer is Django's CSRF
// refusal in DRF's shape.
func (s *Server) checkLoginOrigin(ctx *fasthttp.RequestCtx) error {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" || s.trustedOrigin(origin) {
		return nil
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, string(ctx.Host())) {
		return nil
	}
	return detailError(EFORBIDDEN, "CSRF Failed: Origin checking failed - "+truncate(origin, 100)+" does not match any trusted origins.")
}

// trustedOrigin reports an origin configured by name in --ws-origins or
// --cors-origins.
func (s *Server) trustedOrigin(origin string) bool {
	return origin != "*" && (slices.Contains(s.cfg.WSOrigins, origin) || slices.Contains(s.cfg.CORSOrigins, origin))
}
