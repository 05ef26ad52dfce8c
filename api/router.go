package api

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// route is one endpoint: its methods and handler. Handlers return an error
// that writeError renders, or nil after writing the response.
type route struct {
	methods map[string]handlerFunc
	auth    bool
}

type handlerFunc func(ctx *fasthttp.RequestCtx, req *request) error

// request is what the router extracted: the authenticated user (when the
// route needs one) and the numeric id in the path.
type request struct {
	user *authUser
	id   int64
	sub  int64 // the user id of /chat/v1/room/{id}/members/{user_id}/
}

// handle is the fasthttp entry point: it serves the request and records
// it in the metrics and the access log.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	nextRequest(ctx.Conn(), ctx.Request.Header.ContentLength()) // the request is read whole: what follows is the next one
	start := time.Now()
	s.serveRequest(ctx)
	s.observeRequest(ctx, start)
}

// serveRequest answers a request: host check, CORS, routing.
func (s *Server) serveRequest(ctx *fasthttp.RequestCtx) {
	if !s.hostAllowed(ctx.Host()) {
		s.refuseHost(ctx)
		return
	}
	path := ctx.Path()
	if bytes.HasPrefix(path, []byte("/ws/")) {
		s.handleWebSocket(ctx)
		return
	}
	s.cors(ctx)
	if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
		ctx.SetStatusCode(fasthttp.StatusOK)
		return
	}
	if err := s.dispatch(ctx, string(path)); err != nil {
		s.writeError(ctx, err)
	}
}

// refuseHost answers a Host header outside --allowed-hosts with Django's
// message plus the setting that fixes it: someone reaching the server by a
// LAN address or a hostname meets this first. It is logged as a warning at
// most once per hostWarnEvery, since any client can trigger it.
func (s *Server) refuseHost(ctx *fasthttp.RequestCtx) {
	host := truncate(string(ctx.Host()), 100)
	writeJSON(ctx, fasthttp.StatusBadRequest, errorBody{
		Detail: "Invalid HTTP_HOST header: '" + host + "'. Add it to --allowed-hosts (ALLOWED_HOSTS).",
	})
	if ok, skipped := s.hostWarn.allow(time.Now(), hostWarnEvery); ok {
		s.log.Warn("refused a request whose Host is not in --allowed-hosts (ALLOWED_HOSTS)",
			"host", host, "remote", clientAddr(ctx), "allowed_hosts", s.cfg.AllowedHosts, "refused_since_last_warning", skipped)
	}
}

// hostWarnEvery spaces the warnings about refused Host headers.
const hostWarnEvery = 10 * time.Second

// logThrottle lets a log line through at most once per period and counts
// the ones it held back. Its zero value is ready to use.
type logThrottle struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// allow reports whether a line may be logged now, and how many were held
// back since the last one that was.
func (l *logThrottle) allow(now time.Time, every time.Duration) (ok bool, skipped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < every {
		l.skipped++
		return false, 0
	}
	skipped, l.last, l.skipped = l.skipped, now, 0
	return true, skipped
}

func (s *Server) dispatch(ctx *fasthttp.RequestCtx, path string) error {
	if path == "/" || strings.HasPrefix(path, "/static/") {
		return s.serveWeb(ctx, path)
	}
	if strings.HasPrefix(path, "/media/") {
		return s.serveMedia(ctx, path)
	}
	rt, id, sub, ok := s.match(path)
	if !ok {
		return s.notFound(ctx, path)
	}
	method := string(ctx.Method())
	if method == "HEAD" {
		method = "GET" // as Django does; fasthttp sends no body for HEAD
	}
	h, ok := rt.methods[method]
	if !ok && method == "OPTIONS" {
		s.setAllow(ctx, rt)
		writeRaw(ctx, fasthttp.StatusOK, []byte(`{}`))
		return nil
	}
	req := &request{id: id, sub: sub}
	if rt.auth {
		// Before the method, as DRF does: a caller without credentials
		// learns nothing about the endpoint, not even its methods.
		u, err := s.authenticate(ctx)
		if err != nil {
			return err
		}
		req.user = u
	}
	if !ok {
		return s.methodNotAllowed(ctx, rt)
	}
	return h(ctx, req)
}

// routes is the routing table, built once.
type routes struct {
	fixed           map[string]*route
	room, history   *route
	members, member *route
	read, message   *route
	unknownRoom     *route
	user            *route
}

func (s *Server) buildRoutes() {
	m := func(pairs ...any) map[string]handlerFunc {
		out := map[string]handlerFunc{}
		for i := 0; i < len(pairs); i += 2 {
			out[pairs[i].(string)] = pairs[i+1].(handlerFunc)
		}
		return out
	}
	s.routes = routes{
		fixed: map[string]*route{
			"/user/v1/register/":      {methods: m("POST", handlerFunc(s.register))},
			"/user/v1/login/":         {methods: m("POST", handlerFunc(s.login))},
			"/user/v1/token/refresh/": {methods: m("POST", handlerFunc(s.refresh))},
			"/user/v1/logout/":        {methods: m("POST", handlerFunc(s.logout))},
			"/user/v1/profile/":       {auth: true, methods: m("GET", handlerFunc(s.profile), "PATCH", handlerFunc(s.updateProfile))},
			"/chat/v1/room/":          {auth: true, methods: m("GET", handlerFunc(s.listRooms), "POST", handlerFunc(s.createRoom))},
			"/chat/v1/room/direct/":   {auth: true, methods: m("POST", handlerFunc(s.openDirect))},
			"/chat/v1/room/inbox/":    {auth: true, methods: m("GET", handlerFunc(s.inbox))},
			"/chat/v1/message/":       {auth: true, methods: m("POST", handlerFunc(s.createMessage))},
			"/openapi.json":           {methods: m("GET", handlerFunc(s.openAPI))},
			"/healthz":                {methods: m("GET", handlerFunc(s.healthz))},
			"/readyz":                 {methods: m("GET", handlerFunc(s.ready))},
		},
		room:    &route{auth: true, methods: m("GET", handlerFunc(s.roomDetail))},
		user:    &route{auth: true, methods: m("GET", handlerFunc(s.publicUser))},
		history: &route{auth: true, methods: m("GET", handlerFunc(s.history))},
		members: &route{auth: true, methods: m("GET", handlerFunc(s.listMembers), "POST", handlerFunc(s.addMember))},
		member:  &route{auth: true, methods: m("DELETE", handlerFunc(s.removeMember))},
		read:    &route{auth: true, methods: m("POST", handlerFunc(s.markRead))},
		message: &route{auth: true, methods: m("GET", handlerFunc(s.getMessage), "PATCH", handlerFunc(s.editMessage),
			"DELETE", handlerFunc(s.deleteMessage))},
		// A non-numeric or out-of-range id is an unknown room: 404 like
		// Django's URLconf, whatever the method.
		unknownRoom: &route{auth: true, methods: anyMethod(s.roomNotFound)},
	}
}

// match finds the route of path, with the room id of /chat/v1/room/{id}/…
// and the user id of …/members/{user_id}/ (sub), or the message id of
// /chat/v1/message/{id}/.
func (s *Server) match(path string) (rt *route, id, sub int64, ok bool) {
	if rt, ok := s.routes.fixed[path]; ok {
		return rt, 0, 0, true
	}
	if rest, ok := strings.CutPrefix(path, "/chat/v1/message/"); ok {
		return s.matchMessage(rest)
	}
	if rt, id, ok := s.matchUser(path); ok {
		return rt, id, 0, true
	}
	rest, ok := strings.CutPrefix(path, "/chat/v1/room/")
	if !ok {
		return nil, 0, 0, false
	}
	idText, tail, slashed := strings.Cut(rest, "/")
	if !slashed {
		return nil, 0, 0, false
	}
	switch tail {
	case "":
		rt = s.routes.room
	case "messages/":
		rt = s.routes.history
	case "members/":
		rt = s.routes.members
	case "read/":
		rt = s.routes.read
	default:
		subText, ok := strings.CutPrefix(tail, "members/")
		subText, slashed := strings.CutSuffix(subText, "/")
		if !ok || !slashed || strings.Contains(subText, "/") || subText == "" {
			return nil, 0, 0, false
		}
		rt = s.routes.member
		if sub, ok = parseID(subText); !ok {
			return s.routes.unknownRoom, 0, 0, true
		}
	}
	if id, ok = parseID(idText); !ok {
		return s.routes.unknownRoom, 0, 0, true
	}
	return rt, id, sub, true
}

// parseID reads a positive decimal id of a path.
func parseID(text string) (int64, bool) {
	id, err := strconv.ParseInt(text, 10, 64)
	return id, err == nil && id > 0 && text[0] != '+'
}

// matchMessage routes /chat/v1/message/{id}/ given what follows the prefix.
func (s *Server) matchMessage(rest string) (*route, int64, int64, bool) {
	idText, tail, slashed := strings.Cut(rest, "/")
	if !slashed || tail != "" {
		return nil, 0, 0, false
	}
	id, ok := parseID(idText)
	if !ok {
		return s.routes.unknownRoom, 0, 0, true // an unknown message: 404 whatever the method
	}
	return s.routes.message, id, 0, true
}

func anyMethod(h handlerFunc) map[string]handlerFunc {
	m := map[string]handlerFunc{}
	for _, meth := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} {
		m[meth] = h
	}
	return m
}

func (s *Server) roomNotFound(*fasthttp.RequestCtx, *request) error { return errNotFound }

// notFound answers an unknown path; a known path missing its trailing
// slash answers 301 to the slashed one (GET) or 404, like Django's
// APPEND_SLASH.
func (s *Server) notFound(ctx *fasthttp.RequestCtx, path string) error {
	if !strings.HasSuffix(path, "/") && (ctx.IsGet() || ctx.IsHead()) {
		if rt, _, _, ok := s.match(path + "/"); ok && rt != s.routes.unknownRoom {
			redirectToSlash(ctx, path)
			return nil
		}
	}
	return errNotFound
}

// redirectToSlash answers 301 to path with a trailing slash, query kept.
func redirectToSlash(ctx *fasthttp.RequestCtx, path string) {
	target := path + "/"
	if q := ctx.URI().QueryString(); len(q) > 0 {
		target += "?" + string(q)
	}
	ctx.Response.Header.Set("Location", target)
	writeJSON(ctx, fasthttp.StatusMovedPermanently, errorBody{Detail: "Moved permanently to " + target})
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx, rt *route) error {
	s.setAllow(ctx, rt)
	return errMethod(ctx)
}

// onlyGet answers 405 with Allow: GET, HEAD for the paths outside the
// route table (the web page and sockets), which only read.
func onlyGet(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.Set("Allow", "GET, HEAD")
	return errMethod(ctx)
}

func errMethod(ctx *fasthttp.RequestCtx) error {
	return detailError(EMETHOD, "Method \""+string(ctx.Method())+"\" not allowed.")
}

// setAllow lists a route's methods in the Allow header.
func (s *Server) setAllow(ctx *fasthttp.RequestCtx, rt *route) {
	allow := make([]string, 0, len(rt.methods)+2)
	for m := range rt.methods {
		allow = append(allow, m)
		if m == "GET" {
			allow = append(allow, "HEAD")
		}
	}
	allow = append(allow, "OPTIONS")
	slices.Sort(allow)
	ctx.Response.Header.Set("Allow", strings.Join(slices.Compact(allow), ", "))
}
