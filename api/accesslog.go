package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"
)

// What LiveChat logs, and at which level:
//
//   - info: one "http" line per request (method, path without its query
//     string, route, status, duration, user id when authenticated, remote
//     address, and for a refusal its reason: the detail the client was
//     told, which never quotes a credential); one "socket opened" and one
//     "socket closed" line per socket (user, room, how it authenticated,
//     close code, who closed, duration).
//   - warn: sockets closed for a client's fault (floods, bad frames, slow
//     consumers, oversized frames) and refusals of sockets after the
//     upgrade. A client can cause these at will, so warnings share a rate
//     limit (warnBurst, then warnRate a second); past it the same line is
//     logged at info, and the next warning says how many were demoted.
//   - error: internal errors (storage failures), rate-limited likewise.
//
// Never logged: tokens (query strings are never logged, nor headers,
// cookies or bodies), passwords, message text, emails.

// Rate limit of warnings and errors a client can cause.
const (
	warnRate  = 10 // a second
	warnBurst = 20
)

// maxLoggedPath truncates long paths: a client must not make one log line
// as large as its request.
const maxLoggedPath = 256

// Keys of the values a request carries for its access line.
type logKey int

const (
	userKey   logKey = iota // *authUser, once authenticated
	reasonKey               // *Error, once refused
)

// logLimiter demotes warnings past a rate, counting what it demoted.
type logLimiter struct {
	lim     *rate.Limiter
	demoted atomic.Int64
}

func newLogLimiter() *logLimiter {
	return &logLimiter{lim: rate.NewLimiter(warnRate, warnBurst)}
}

// level returns want if the rate allows, else info; with the level, the
// number of lines demoted since the last one allowed (to be logged).
func (l *logLimiter) level(want slog.Level) (slog.Level, int64) {
	if !l.lim.Allow() {
		l.demoted.Add(1)
		return slog.LevelInfo, 0
	}
	return want, l.demoted.Swap(0)
}

// logRateLimited logs msg at want, demoted to info past the warning rate.
func (s *Server) logRateLimited(want slog.Level, msg string, attrs ...slog.Attr) {
	level, demoted := s.warnLimit.level(want)
	if demoted > 0 {
		attrs = append(attrs, slog.Int64("demoted_since_last", demoted))
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// observeRequest records a served request in the metrics and, at info,
// in the access log.
func (s *Server) observeRequest(ctx *fasthttp.RequestCtx, start time.Time) {
	d := time.Since(start)
	status := ctx.Response.StatusCode()
	path := ctx.Path()
	method := methodLabel(ctx.Method())
	route := s.routeLabel(path)
	if ctx.Hijacked() {
		// A socket: its own lines say who opened it and how it ended.
		s.metrics.observeHTTP(route, method, fasthttp.StatusSwitchingProtocols, d)
		return
	}
	s.metrics.observeHTTP(route, method, status, d)
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	if len(path) > maxLoggedPath {
		path = path[:maxLoggedPath]
	}
	// Absent fields are zero Attrs, which handlers skip: one fixed call,
	// no slice to build.
	var user, reason slog.Attr
	if u, ok := ctx.UserValue(userKey).(*authUser); ok {
		user = slog.Int64("user", u.Id)
	}
	if e, ok := ctx.UserValue(reasonKey).(*Error); ok {
		reason = slog.String("reason", e.reason())
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "http",
		slog.String("method", method),
		slog.String("path", string(path)),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("dur", d),
		slog.String("remote", ctx.RemoteIP().String()),
		user, reason,
	)
}

// reason is what a refusal's log line says: the detail the client got,
// SimpleJWT's code, or the names of the fields refused (not their
// messages, which may quote what the client sent).
func (e *Error) reason() string {
	switch {
	case e.AuthCode != "" && e.Detail != "":
		return e.AuthCode + ": " + e.Detail
	case e.Detail != "":
		return e.Detail
	}
	fields := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	if len(fields) == 1 && fields[0] == "non_field_errors" && slices.Equal(e.Fields[fields[0]], errBadCredentials.Fields["non_field_errors"]) {
		return "wrong email or password"
	}
	return "invalid fields: " + strings.Join(fields, ", ")
}

// routeLabels maps each fixed path to itself (an interned string), for
// route labels that cost no allocation.
func (s *Server) buildRouteLabels() {
	s.routeLabels = map[string]string{"/": "/", "/healthz": "/healthz", "/readyz": "/readyz", "/openapi.json": "/openapi.json"}
	for p := range s.routes.fixed {
		s.routeLabels[p] = p
	}
}

// Route labels of the paths with a parameter, and of everything else.
const (
	routeRoom    = "/chat/v1/room/{id}/"
	routeHistory = "/chat/v1/room/{id}/messages/"
	routeMessage = "/chat/v1/message/{id}/"
	routeSocket  = "/ws/chat/{id}/chat/"
	routeStatic  = "/static/"
	routeMedia   = "/media/"
	routeUser    = "/user/v1/users/{id}/"
	routeOther   = "other"
)

// routeLabel is the route pattern of path: a bounded set of values, not
// the raw path.
func (s *Server) routeLabel(path []byte) string {
	if l, ok := s.routeLabels[string(path)]; ok {
		return l
	}
	switch {
	case bytes.HasPrefix(path, []byte("/ws/")):
		return routeSocket
	case bytes.HasPrefix(path, []byte("/static/")):
		return routeStatic
	case bytes.HasPrefix(path, []byte("/media/")):
		return routeMedia
	case bytes.HasPrefix(path, []byte("/user/v1/users/")):
		return routeUser
	}
	if rest, ok := bytes.CutPrefix(path, []byte("/chat/v1/message/")); ok {
		if id, tail, _ := bytes.Cut(rest, []byte("/")); len(id) > 0 && len(tail) == 0 {
			return routeMessage
		}
		return routeOther
	}
	rest, ok := bytes.CutPrefix(path, []byte("/chat/v1/room/"))
	if !ok {
		return routeOther
	}
	id, tail, _ := bytes.Cut(rest, []byte("/"))
	switch {
	case len(id) == 0:
		return routeOther
	case len(tail) == 0:
		return routeRoom
	case string(tail) == "messages/":
		return routeHistory
	}
	return routeOther
}

// noteUser records the authenticated user for the request's access line.
func noteUser(ctx *fasthttp.RequestCtx, u *authUser) { ctx.SetUserValue(userKey, u) }

// noteRefusal records why a request was refused, for its access line.
func noteRefusal(ctx *fasthttp.RequestCtx, e *Error) { ctx.SetUserValue(reasonKey, e) }

// fasthttpLogger passes fasthttp's own messages at debug. They can quote
// the start of a malformed request, so anything that looks like a token
// or a query string is cut out first.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	if !f.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	f.l.Debug("fasthttp", "detail", redact(fmt.Sprintf(format, args...)))
}

var (
	// opaque matches tokens and pieces of them: any long run of base64url
	// characters (a JWT's parts, cut anywhere).
	opaque      = regexp.MustCompile(`[A-Za-z0-9_=+/-]{20,}`)
	queryString = regexp.MustCompile(`\?[^\s"]*`)
	headerValue = regexp.MustCompile(`(?i)(authorization|cookie|sec-websocket-protocol)\s*:[^\r\n"]*`)
)

// redact removes what may quote a request from text: fasthttp's snippet
// of its read buffer (dropped whole), then tokens, query strings and
// credential headers wherever else they appear.
func redact(s string) string {
	if i := strings.Index(s, "contents:"); i >= 0 {
		s = s[:i] + "contents: [redacted]"
	}
	s = opaque.ReplaceAllString(s, "[redacted]")
	s = queryString.ReplaceAllString(s, "?[redacted]")
	s = headerValue.ReplaceAllString(s, "$1: [redacted]")
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}
