package api

import (
	"fmt"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"livechat/actors"
)

// inboxPath is the inbox socket: one per user device, carrying the inbox
// frames of every room the user is a member of.
const inboxPath = "/ws/inbox/"

// inboxStrikeBurst is how many bad frames an inbox socket may send before
// it is closed with 1008, one forgiven per second: as on room sockets.
const inboxStrikeBurst = 10

// handleInboxSocket authenticates /ws/inbox/ and upgrades it. It is refused
// before the upgrade in the same ways as a room socket, and counts against
// the same caps.
func (s *Server) handleInboxSocket(ctx *fasthttp.RequestCtx) {
	user, viaSubprotocol, err := s.socketUser(ctx)
	if err == nil {
		err = s.socketRoomFor(ctx, user)
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	var subprotocols []string
	if viaSubprotocol {
		subprotocols = []string{"bearer"}
	}
	host := string(ctx.Host())
	s.upgradeSocket(ctx, subprotocols, func(ws *websocket.Conn) func() {
		return s.openConn(ws, 0, user, func(c *Conn) socketSession {
			in := &inboxSocket{s: s, c: c, host: host}
			in.close = s.engine.OpenInbox(user.Id, in)
			return in
		})
	})
}

// inboxSocket is an inbox socket: it receives the frames rooms send to
// its user's inbox and answers the only client frame it takes,
// auth.refresh. Its methods other than Send run on the socket's reader.
type inboxSocket struct {
	s       *Server
	c       *Conn
	host    string // the handshake's Host, for the chat_url of rooms it is sent
	close   func()
	strikes *rate.Limiter // made on the first bad frame
}

var _ actors.Sink = (*inboxSocket)(nil)

// Send implements actors.Sink.
func (in *inboxSocket) Send(frame []byte) bool { return in.c.Send(frame) }

// SendBacklog implements actors.Sink; an inbox socket has no backlog.
func (in *inboxSocket) SendBacklog(frames [][]byte) bool { return in.c.SendBacklog(frames) }

// Close implements actors.Sink.
func (in *inboxSocket) Close(code int, reason string) { in.c.Close(code, reason) }

// end unregisters the socket once its read loop has ended.
func (in *inboxSocket) end() { in.close() }

// Host is the host the socket was opened with.
func (in *inboxSocket) Host() string { return in.host }

func (in *inboxSocket) frame(f inboundFrame) {
	if f.kind == frameRefresh {
		in.s.refreshSocket(in.c, in, f.token)
		return
	}
	in.Invalid(fmt.Sprintf("unknown type %q: an inbox socket takes only auth.refresh", f.kind))
}

// Invalid answers a bad frame with chat.error invalid_request; a client
// that keeps at it is closed with 1008.
func (in *inboxSocket) Invalid(reason string) {
	if in.strikes == nil {
		in.strikes = rate.NewLimiter(rate.Every(time.Second), inboxStrikeBurst)
	}
	if !in.strikes.Allow() {
		in.c.Close(actors.ClosePolicy, "too many invalid frames")
		return
	}
	in.c.Send(actors.ErrorFrame(actors.ErrorInvalid, reason))
}
