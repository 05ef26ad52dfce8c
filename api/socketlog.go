package api

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/fasthttp/websocket"
)

// closeCodeNames say in the log what each close code means.
var closeCodeNames = map[int]string{
	1000: "normal",
	1001: "going away (shutdown or idle timeout)",
	1002: "protocol error",
	1006: "connection lost without a close",
	1008: "flood or repeated bad frames",
	1009: "frame too large",
	1011: "room unavailable",
	1013: "too many connections",
	4001: "token expired",
	4008: "slow consumer",
}

// clientFault are the close codes a client earns by misbehaving: logged
// as warnings (rate-limited).
var clientFault = map[int]bool{1002: true, 1008: true, 1009: true, 4008: true}

// closeCode is the close code sent or answered first, 0 while open.
func (c *Conn) closeCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

// socketLog is one socket's lifetime, for its log lines and metrics.
type socketLog struct {
	s      *Server
	room   int64
	user   int64
	remote net.Addr // kept as the connection has it: no copy per socket
	opened time.Time
	// byClient is set (by the close handler, on the reader goroutine)
	// when the client sent the first close frame.
	byClient bool
}

// socketOpened logs a socket that passed its handshake.
func (s *Server) socketOpened(ws *websocket.Conn, room int64, user *authUser) *socketLog {
	l := &socketLog{s: s, room: room, user: user.Id, remote: ws.RemoteAddr(), opened: time.Now()}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "socket opened",
		slog.Int64("user", l.user), slog.Int64("room", room), slog.String("remote", l.remote.String()))
	return l
}

// socketRefused logs and counts a socket refused after its upgrade.
func (s *Server) socketRefused(ws *websocket.Conn, room int64, user *authUser, kind, reason string) {
	s.metrics.Refused(kind)
	s.logRateLimited(slog.LevelWarn, "socket refused", slog.String("reason", reason),
		slog.Int64("user", user.Id), slog.Int64("room", room), slog.String("remote", ws.RemoteAddr().String()))
}

// peerClosing notes a close frame from the client, before it is answered.
func (l *socketLog) peerClosing(c *Conn) {
	if c.closeCode() == 0 {
		l.byClient = true
	}
}

// closed logs and counts the end of the socket; code is c.closeCode()
// once the read loop ended (0: the connection was lost without a close).
func (l *socketLog) closed(code int) {
	if code == 0 {
		code = websocket.CloseAbnormalClosure
	}
	l.s.metrics.Closed(code)
	by := "server"
	if l.byClient {
		by = "client"
	}
	attrs := []slog.Attr{
		slog.Int64("user", l.user), slog.Int64("room", l.room), slog.Int("code", code),
		slog.String("reason", closeCodeNames[code]), slog.String("by", by),
		slog.Duration("dur", time.Since(l.opened)), slog.String("remote", l.remote.String()),
	}
	if by == "server" && clientFault[code] {
		l.s.logRateLimited(slog.LevelWarn, "socket closed", attrs...)
		return
	}
	l.s.log.LogAttrs(context.Background(), slog.LevelInfo, "socket closed", attrs...)
}
