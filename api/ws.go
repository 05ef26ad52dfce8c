package api

import (
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"livechat/actors"
)

// handleWebSocket authenticates /ws/chat/{room}/chat/ and upgrades it.
// Every refusal happens before the upgrade, as an HTTP status with a JSON
// body. Nothing from ctx is used inside the upgraded handler.
func (s *Server) handleWebSocket(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) == inboxPath {
		s.handleInboxSocket(ctx)
		return
	}
	if path := string(ctx.Path()); !strings.HasSuffix(path, "/") && (ctx.IsGet() || ctx.IsHead()) {
		if _, ok := socketRoom(path + "/"); ok || path+"/" == inboxPath {
			redirectToSlash(ctx, path) // every path ends with a slash (PROTOCOL.md)
			return
		}
	}
	room, since, user, viaSubprotocol, err := s.admitSocket(ctx)
	events := actors.ParseEvents(string(ctx.QueryArgs().Peek("events")))
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	var subprotocols []string
	if viaSubprotocol {
		subprotocols = []string{"bearer"}
	}
	s.upgradeSocket(ctx, subprotocols, func(ws *websocket.Conn) func() { return s.openSocket(ws, room, since, events, user) }, nil)
}

// socketRoom parses /ws/chat/{room}/chat/; ok is false for any other path.
func socketRoom(path string) (int64, bool) {
	rest, _ := strings.CutPrefix(path, "/ws/chat/")
	idText, tail, _ := strings.Cut(rest, "/")
	room, err := strconv.ParseInt(idText, 10, 64)
	return room, tail == "chat/" && isDigits(idText) && err == nil && room > 0
}

// admitSocket checks path, token, origin and room before an upgrade.
func (s *Server) admitSocket(ctx *fasthttp.RequestCtx) (room, since int64, user *authUser, viaSubprotocol bool, err error) {
	room, ok := socketRoom(string(ctx.Path()))
	if !ok {
		return 0, 0, nil, false, errNotFound
	}
	user, viaSubprotocol, err = s.socketUser(ctx)
	if err != nil {
		return 0, 0, nil, false, err
	}
	if _, err = s.visibleRoom(user, room); err != nil {
		return 0, 0, nil, false, err
	}
	if since, err = queryInt(ctx, "since", -1); err != nil {
		return 0, 0, nil, false, err
	}
	// The client sees the 101 before the session has joined its room, so a
	// live-only socket (or one whose since is beyond the room) starts from
	// the last stored seq: every message posted once the handshake is done
	// reaches it, none twice.
	last, err := s.store.LastSeq(room)
	if err != nil {
		return 0, 0, nil, false, err
	}
	// On a single node a since past the room's last seq is the client's
	// mistake, and it starts live. In a cluster it is usually this node
	// being behind the log (the client was acknowledged through another
	// node, or this one was just paused), which no read barrier can rule
	// out (a leader that was paused answers from its own copy for a
	// moment): the client's since stands, and the room, as it catches up,
	// skips the messages up to it.
	if since < 0 || since > last && !s.store.Replicated() {
		since = last
	}
	if err := s.socketRoomFor(ctx, user); err != nil {
		return 0, 0, nil, false, err
	}
	return room, since, user, viaSubprotocol, nil
}

// socketUser checks the method, the token and the origin of a handshake,
// and returns the user it authenticates.
func (s *Server) socketUser(ctx *fasthttp.RequestCtx) (user *authUser, viaSubprotocol bool, err error) {
	if !ctx.IsGet() {
		return nil, false, onlyGet(ctx)
	}
	token, via := socketToken(ctx)
	if via == "" {
		return nil, false, errNoCredentials
	}
	if via == "cookie" && !s.socketOriginAllowed(ctx) {
		return nil, false, detailError(EFORBIDDEN, "Origin not allowed for cookie authentication.")
	}
	if user, err = s.userForToken(token); err != nil {
		return nil, false, err
	}
	return user, via == "subprotocol", nil
}

// socketRoomFor checks the handshake itself and that the server and user
// have room for one more socket.
func (s *Server) socketRoomFor(ctx *fasthttp.RequestCtx, user *authUser) error {
	if err := checkHandshake(ctx); err != nil {
		return err
	}
	if s.conns.count() >= s.cfg.MaxConnections {
		s.metrics.Refused("max_conns")
		return detailError(EUNAVAILABLE, "Too many connections, try again later.")
	}
	if s.conns.userCount(user.Id) >= s.cfg.MaxUserSockets {
		s.metrics.Refused("user_socket_cap")
		return detailError(ERATELIMIT,
			"Too many open sockets for this user (at most "+strconv.Itoa(s.cfg.MaxUserSockets)+"): close one first.")
	}
	return nil
}

// socketToken finds the access token: ?token=, Authorization: Bearer,
// Sec-WebSocket-Protocol "bearer, <token>", or the login cookie.
func socketToken(ctx *fasthttp.RequestCtx) (token, via string) {
	if t := ctx.QueryArgs().Peek("token"); len(t) > 0 {
		return string(t), "query"
	}
	if t, ok, _ := bearer(ctx); ok {
		return t, "header" // empty when malformed: refused as an invalid token
	}
	if p := ctx.Request.Header.Peek("Sec-WebSocket-Protocol"); len(p) > 0 {
		parts := strings.Split(string(p), ",")
		if len(parts) == 2 && strings.TrimSpace(parts[0]) == "bearer" {
			return strings.TrimSpace(parts[1]), "subprotocol"
		}
	}
	if c := ctx.Request.Header.Cookie("access_token"); len(c) > 0 {
		return string(c), "cookie"
	}
	return "", ""
}

// socketOriginAllowed refuses cross-site WebSocket hijacking: a browser
// sends the login cookie to any site's socket request, so cookie
// authentication needs an Origin that is LiveChat's own or configured. A
// handshake without an Origin is not from a page of LiveChat's and is
// refused too (programs authenticate with the token instead). The own
// origin is matched by host, whatever its scheme, so that a page served
// over https by a TLS-terminating proxy is LiveChat's own.
func (s *Server) socketOriginAllowed(ctx *fasthttp.RequestCtx) bool {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" {
		return false
	}
	for _, o := range s.cfg.WSOrigins {
		if o == origin {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, string(ctx.Host()))
}

// openSocket sets an upgraded socket up: its outbound Conn, its handlers
// and its session actor. It returns the socket's read loop, which
// upgradeSocket runs on a goroutine of its own, or nil when the socket was
// refused. The setup runs on the hijacking goroutine so that its deep calls
// do not grow the stack every idle socket keeps for its reader.
func (s *Server) openSocket(ws *websocket.Conn, room, since int64, events actors.Events, user *authUser) (run func()) {
	return s.openConn(ws, room, user, func(c *Conn) socketSession {
		return &roomSocket{s: s, c: c, user: user.Id, sess: s.engine.OpenSession(room, user.sender(), since, events, c)}
	})
}

// socketSession takes the frames a socket's reader reads: room sockets
// hand them to their session actor, inbox sockets answer them themselves.
type socketSession interface {
	// Invalid answers a bad frame with chat.error; repeated ones close the
	// socket with 1008.
	Invalid(reason string)
	// frame takes a valid client frame, on the reader's goroutine.
	frame(in inboundFrame)
	// end ends the session once the socket's read loop has ended.
	end()
}

// roomSocket is a room socket's side of its session actor.
type roomSocket struct {
	s       *Server
	c       *Conn
	user    int64
	sess    *actors.Session
	typing  *gate[bool]   // made on the first chat.typing: many clients never send one
	reads   *gate[int64]  // made on the first chat.read
	strikes *rate.Limiter // made on the first bad frame
}

func (r *roomSocket) Invalid(reason string) {
	rejectFrame(r.c, &r.strikes, r.s.engine.StrikeBurst(), reason)
}

// rejectFrame answers a bad frame with chat.error invalid_request, on the
// socket's reader goroutine; past burst of them (one forgiven a second) it
// closes the socket with 1008. No actor hears of it: a client's flood of
// bad frames or over-rate pings, read far faster than an actor takes
// messages, would otherwise queue in its mailbox without bound.
func rejectFrame(out actors.Sink, strikes **rate.Limiter, burst int, reason string) {
	if *strikes == nil {
		*strikes = rate.NewLimiter(rate.Every(time.Second), burst)
	}
	if !(*strikes).Allow() {
		out.Close(actors.ClosePolicy, "too many invalid frames")
		return
	}
	out.Send(actors.ErrorFrame(actors.ErrorInvalid, reason))
}
func (r *roomSocket) end() {
	if r.typing != nil {
		r.typing.stop()
	}
	if r.reads != nil {
		r.reads.stop()
	}
	r.sess.Close()
}

// frame passes a valid frame on. A chat message waits for its user's
// message rate, and the socket is not read meanwhile: a client over the
// rate is slowed, not refused.
func (r *roomSocket) frame(in inboundFrame) {
	switch {
	case in.kind == frameRefresh:
		r.s.refreshSocket(r.c, r, in.token)
	case in.kind == frameRead && r.s.store.Writable() != nil:
		// A read marker is a write: below the storage reserve it is
		// refused like a message, not dropped unsaid.
		r.c.Send(actors.ErrorFrame(actors.ErrorStorageFull, "Storage is full."))
	case in.kind == frameRead:
		if r.reads == nil {
			r.reads = newGate(r.s.cfg.ReadRate, r.sess.Read)
		}
		r.reads.offer(in.seq) // past the rate: the newest is held, not a strike
	case in.kind == frameTyping:
		if r.typing == nil {
			r.typing = newGate(r.s.cfg.TypingRate, r.sess.Typing)
		}
		r.typing.offer(in.typing) // past the rate: held, not a strike
	case r.s.waitMessageTurn(r.c, r.user):
		if r.typing != nil {
			r.typing.discard()
		}
		r.sess.Message(in.text, in.clientID)
	}
}

// openConn sets an upgraded socket up: its outbound Conn, its handlers and
// the session start makes. It returns the socket's read loop, or nil when
// the socket was refused. room is 0 for an inbox socket.
func (s *Server) openConn(ws *websocket.Conn, room int64, user *authUser, start func(c *Conn) socketSession) (run func()) {
	c := newConn(ws.NetConn(), s.cfg.MaxOutboundBytes, s.cfg.WriteTimeout, s.writeClock, s.conns.countSlow)
	c.auth.start(user.Id, user.expires)
	c.stats = s.metrics.sockets
	if err := s.conns.add(c, user.Id, s.cfg.MaxConnections, s.cfg.MaxUserSockets); err != nil {
		// admitSocket refused these before the upgrade; only a race with
		// another handshake or with shutdown gets here.
		switch {
		case errors.Is(err, errConnsClosed):
			s.socketRefused(ws, room, user, "shutting_down", "server shutting down")
			c.Close(actors.CloseGoingAway, "server shutting down")
		case errors.Is(err, errUserConnsFull):
			s.socketRefused(ws, room, user, "user_socket_cap", "too many sockets for this user")
			c.Close(actors.ClosePolicy, "too many sockets for this user")
		default:
			s.socketRefused(ws, room, user, "max_conns", "too many connections")
			c.Close(actors.CloseTryAgainLater, "too many connections")
		}
		c.drain(s.cfg.WriteTimeout)
		_ = ws.Close()
		return nil
	}
	var sess socketSession                     // set below, before any frame is read
	var pings *rate.Limiter                    // made on the first ping or pong: most clients never send one
	allowControl := func(now time.Time) bool { // a ping or a pong within the client ping rate
		if pings == nil {
			pings = rate.NewLimiter(rate.Limit(s.cfg.ClientPingRate), s.cfg.ClientPingBurst)
		}
		return pings.AllowN(now, 1)
	}
	life := s.socketOpened(ws, room, user)
	// The library checks a frame's length against this as it reads the
	// header, and answers 1009 itself: a header claiming more is refused
	// before any of its payload arrives. readFrame keeps its own check.
	ws.SetReadLimit(int64(s.cfg.MaxFrameBytes))
	ws.SetPingHandler(func(data string) error {
		now := time.Now()
		c.touch(now)
		if closing, cut := c.readAfterClose(); cut {
			return errSentAfterClose
		} else if closing {
			return nil // a closed socket's pings are read and dropped
		}
		if !allowControl(now) {
			sess.Invalid("ping not answered: pings faster than the limit count as bad frames")
			return nil
		}
		c.control(websocket.PongMessage, []byte(data))
		return nil
	})
	ws.SetPongHandler(func(string) error {
		now := time.Now()
		c.touch(now)
		if _, cut := c.readAfterClose(); cut {
			return errSentAfterClose
		}
		// Unsolicited pongs share the ping rate: a pong flood costs the
		// server as much as a ping flood.
		if !allowControl(now) {
			sess.Invalid("pongs faster than the ping limit count as bad frames")
		}
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		life.peerClosing(c)
		if meter, _ := ws.NetConn().(*readMeter); meter != nil && meter.track.shortClose {
			c.Close(websocket.CloseProtocolError, "close frame payload of one byte")
			return nil
		}
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.Close(code, "")
		return nil
	})
	sess = start(c)
	return func() {
		s.readLoop(ws, c, sess)
		code := c.closeCode()
		sess.end()
		c.Close(websocket.CloseNormalClosure, "")
		c.drain(s.cfg.WriteTimeout)
		s.conns.remove(c)
		_ = ws.Close()
		life.closed(code)
	}
}

// readLoop reads frames until the connection ends and hands them to sess.
func (s *Server) readLoop(ws *websocket.Conn, c *Conn, sess socketSession) {
	var buf []byte // made on the first frame: many sockets only listen
	meter, _ := ws.NetConn().(*readMeter)
	for {
		if meter != nil {
			meter.end()
			if meter.idle() {
				_ = meter.awaitBytes() // a failure is the library's read's too
			}
		}
		kind, r, err := ws.NextReader()
		if err != nil {
			if libraryClosed(err) {
				closeAfterLibrary(c, meter, err)
			}
			return
		}
		c.touch(time.Now())
		if _, cut := c.readAfterClose(); cut {
			return
		}
		if buf == nil {
			buf = make([]byte, 0, 512)
		}
		if meter != nil {
			meter.begin(s.cfg.MaxFrameBytes)
		}
		buf, err = readFrame(r, buf[:0], s.cfg.MaxFrameBytes)
		if err == nil && meter != nil {
			meter.track.consumed()
		}
		if errors.Is(err, errMessageFrames) {
			c.Close(websocket.CloseMessageTooBig, "a message's frames passed "+strconv.Itoa(s.cfg.MaxFrameBytes+messageSlack)+" bytes")
			return
		}
		if errors.Is(err, errFrameTooLarge) {
			c.Close(websocket.CloseMessageTooBig, "frame larger than "+strconv.Itoa(s.cfg.MaxFrameBytes)+" bytes")
			return
		}
		if err != nil {
			if libraryClosed(err) {
				closeAfterLibrary(c, meter, err) // inside a fragmented message
			}
			return
		}
		if kind != websocket.TextMessage {
			sess.Invalid("binary frames are not supported: send JSON text")
			continue
		}
		if in := parseInbound(buf, s.cfg.MaxMessageChars); in.problem != "" {
			sess.Invalid(in.problem)
		} else {
			sess.frame(in)
		}
		if cap(buf) > 4096 {
			buf = make([]byte, 0, 512) // do not keep a large frame's buffer
		}
	}
}

var (
	errFrameTooLarge  = errors.New("api: frame too large")
	errSentAfterClose = errors.New("api: the peer kept sending after the close")
)

// libraryClosed reports a read error that the websocket library has
// already answered with a close frame: a protocol violation (reserved
// bits, an unmasked or unknown frame, a bad control frame). The peer
// closing, the network failing and deadlines are the other errors.
func libraryClosed(err error) bool {
	var ce *websocket.CloseError
	var ne net.Error
	return !errors.As(err, &ce) && !errors.As(err, &ne) &&
		!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed)
}

// closeAfterLibrary ends c after a read error the websocket library
// reports as a protocol violation (libraryClosed). The library has
// answered it with its own close frame (1002, or 1009 for a frame over
// the read limit), except for a 64-bit length with its top bit set, which
// RFC 6455 forbids and the library reports as over the read limit without
// a close frame: that one c answers 1002 itself, through its own queue.
func closeAfterLibrary(c *Conn, meter *readMeter, err error) {
	switch {
	case !errors.Is(err, websocket.ErrReadLimit):
		c.closeSent(websocket.CloseProtocolError)
	case meter != nil && meter.track.hugeLength:
		c.Close(websocket.CloseProtocolError, "frame length with its top bit set")
	default:
		c.closeSent(websocket.CloseMessageTooBig)
	}
}

// readFrame reads one message into buf, refusing more than limit bytes.
func readFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, errFrameTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
