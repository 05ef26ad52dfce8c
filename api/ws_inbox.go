package api

import (
	"fmt"
	"sync"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"livechat/actors"
)

// inboxPath is the inbox socket: one per user device, carrying the inbox
// frames of every room the user is a member of.
const inboxPath = "/ws/inbox/"

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
	// Registered before the 101 goes out, so that a client that reads the
	// inbox once it has the 101 misses no frame; frames wait in the socket
	// until its connection is set up.
	in := &inboxSocket{s: s, host: string(ctx.Host())}
	in.close = s.engine.OpenInbox(user.Id, in)
	s.upgradeSocket(ctx, subprotocols, func(ws *websocket.Conn) func() {
		run := s.openConn(ws, 0, user, func(c *Conn) socketSession {
			in.bind(c)
			return in
		})
		if run == nil {
			in.close()
		}
		return run
	}, in.close)
}

// inboxSocket is an inbox socket: it receives the frames rooms send to
// its user's inbox and answers the only client frame it takes,
// auth.refresh. Its methods other than Send run on the socket's reader.
type inboxSocket struct {
	s       *Server
	host    string // the handshake's Host, for the chat_url of rooms it is sent
	close   func()
	strikes *rate.Limiter // made on the first bad frame

	mu      sync.Mutex
	c       *Conn    // nil until the upgrade is done
	early   [][]byte // frames sent before c was set
	dropped bool     // more than maxEarlyFrames came before c was set
}

// maxEarlyFrames bounds the frames kept for an inbox socket whose
// handshake is under way: far more than arrive in that time, unless the
// handshake never completes.
const maxEarlyFrames = 256

var _ actors.Sink = (*inboxSocket)(nil)

// bind sets the socket's connection and sends it the frames that came
// before.
func (in *inboxSocket) bind(c *Conn) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.c = c
	for _, f := range in.early {
		c.Send(f)
	}
	in.early = nil
	if in.dropped {
		c.Close(actors.CloseSlowConsumer, "slow consumer: inbox frames lost during the handshake")
	}
}

// conn returns the socket's connection, or holds frame until there is one.
func (in *inboxSocket) conn(frame []byte) *Conn {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.c == nil && frame != nil {
		if len(in.early) < maxEarlyFrames {
			in.early = append(in.early, frame)
		} else {
			in.dropped = true
		}
	}
	return in.c
}

// Send implements actors.Sink.
func (in *inboxSocket) Send(frame []byte) bool {
	if c := in.conn(frame); c != nil {
		return c.Send(frame)
	}
	return true
}

// SendDroppable implements actors.Sink. Inbox frames are never optional,
// so it sends like Send.
func (in *inboxSocket) SendDroppable(frame []byte) bool { return in.Send(frame) }

// SendLater implements actors.Sink: an inbox socket is not a room's
// member, so it sends like Send.
func (in *inboxSocket) SendLater(frame []byte) bool { return in.Send(frame) }

// SendBacklog implements actors.Sink; an inbox socket has no backlog.
func (in *inboxSocket) SendBacklog(frames [][]byte) bool {
	for _, f := range frames {
		if !in.Send(f) {
			return false
		}
	}
	return true
}

// Close implements actors.Sink.
func (in *inboxSocket) Close(code int, reason string) {
	if c := in.conn(nil); c != nil {
		c.Close(code, reason)
	}
}

// end unregisters the socket once its read loop has ended.
func (in *inboxSocket) end() { in.close() }

// Host is the host the socket was opened with.
func (in *inboxSocket) Host() string { return in.host }

func (in *inboxSocket) frame(f inboundFrame) {
	if f.kind == frameRefresh {
		in.s.refreshSocket(in.conn(nil), in, f.token)
		return
	}
	in.Invalid(fmt.Sprintf("unknown type %q: an inbox socket takes only auth.refresh", f.kind))
}

// Invalid answers a bad frame with chat.error invalid_request; a client
// that keeps at it is closed with 1008.
func (in *inboxSocket) Invalid(reason string) {
	rejectFrame(in, &in.strikes, in.s.engine.StrikeBurst(), reason)
}
