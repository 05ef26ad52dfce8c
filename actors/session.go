package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	"livechat/actors/pb"
)

// session is the actor behind one WebSocket. It joins its room on start and
// leaves on stop, answers what its room refuses (closing a client that
// keeps at it), and forwards valid chat messages straight to its room
// actor. The socket's reader and writer live in package api; the reader
// answers malformed frames itself and applies the message rate (per user,
// shared with REST) and the typing and read rates before a frame gets
// here. This actor never touches the network.
type session struct {
	e       *Engine
	room    int64
	user    *pb.Sender
	since   int64
	events  Events
	sink    Sink
	roomPID *actor.PID // set once the room answered the join
	// joining is what a session holds until its join is answered, nil
	// after: an idle socket keeps none of it.
	joining *joining

	// strikes is made on first use: most sockets never send a bad frame,
	// and an idle socket should cost little memory.
	strikes *rate.Limiter // rejected frames; empty means close 1008
}

func newSession(e *Engine, room int64, user *pb.Sender, since int64, events Events, sink Sink) *session {
	return &session{e: e, room: room, user: user, since: since, events: events, sink: sink}
}

// Receive implements actor.Actor.
func (s *session) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *actor.Stopping:
		s.onStopping(ctx)
	case *pb.Joined:
		s.onJoined(ctx, m)
	case *pb.Inbound:
		s.onInbound(ctx, m)
	case *inboundTyping:
		s.onTyping(ctx, m)
	case *pb.Posted:
		s.onPosted(m)
	case *socketRead:
		m.room = s.room
		s.toRoom(ctx, m)
	case *readRefused:
		s.reject(m.errorType, m.message)
	case *joinTimeout, *actor.DeadLetterResponse:
		s.onRoomLost()
	}
}

// joinTimeout tells a session that its join was not answered in time.
type joinTimeout struct{}

// joining is a session's state until its join is answered.
type joining struct {
	// timer closes a session whose join is never answered: a room that
	// crashes drops the messages left in its mailbox, joins included.
	timer *time.Timer
	// held keeps, in order, what the socket sent before the answer; it goes
	// to the room with the answer. Sent through the hub instead, it could
	// be overtaken by what follows straight to the room. The reader's
	// rates bound it.
	held []any
}

func (s *session) onStarted(ctx actor.Context) {
	ctx.Request(s.e.hub, &localJoin{Join: &pb.Join{Room: s.room, User: s.user, Since: s.since}, events: s.events, sink: s.sink})
	self, root := ctx.Self(), s.e.root
	s.joining = &joining{timer: time.AfterFunc(s.e.cfg.RequestTimeout, func() { root.Send(self, &joinTimeout{}) })}
}

// endJoining stops the join's timer and returns what was held for the
// room.
func (s *session) endJoining() []any {
	if s.joining == nil {
		return nil
	}
	s.joining.timer.Stop()
	held := s.joining.held
	s.joining = nil
	return held
}

// onRoomLost closes the socket when the join went unanswered or a request
// reached a room that had stopped: the client reconnects with since.
func (s *session) onRoomLost() {
	if s.roomPID == nil {
		s.sink.Close(CloseInternal, "room unavailable, reconnect")
	}
}

func (s *session) onJoined(ctx actor.Context, j *pb.Joined) {
	held := s.endJoining()
	if j.Room == 0 || ctx.Sender() == nil { // refused by the hub
		s.sink.Close(CloseInternal, "room unavailable")
		return
	}
	s.roomPID = ctx.Sender()
	for _, msg := range held {
		ctx.Request(s.roomPID, msg)
	}
}

// onStopping leaves the room. Before the join was answered the leave goes
// through the hub, behind the join.
func (s *session) onStopping(ctx actor.Context) {
	s.endJoining()
	if s.roomPID != nil {
		ctx.Request(s.roomPID, &pb.Leave{Room: s.room})
		return
	}
	ctx.Request(s.e.hub, &pb.Leave{Room: s.room})
}

func (s *session) onInbound(ctx actor.Context, in *pb.Inbound) {
	if in.ClientId != "" && s.resendStored(in.ClientId) {
		return
	}
	s.refreshSender()
	s.toRoom(ctx, &socketPost{&pb.Post{Room: s.room, Sender: s.user, Text: in.Text, ClientId: in.ClientId}})
}

// refreshSender takes the user's current nickname and picture (a cached
// read): a message sent after a profile change shows the new ones, even on
// a socket opened before it. The socket's identity never changes.
func (s *session) refreshSender() {
	u, err := s.e.cfg.Store.UserByID(s.user.UserId)
	if err != nil || u.Nickname == s.user.Nickname && u.ProfilePicture == s.user.ProfilePicture {
		return
	}
	s.user = &pb.Sender{UserId: s.user.UserId, Email: s.user.Email, Nickname: u.Nickname, ProfilePicture: u.ProfilePicture}
}

// toRoom sends msg to the room, or holds it until the join is answered.
func (s *session) toRoom(ctx actor.Context, msg any) {
	switch {
	case s.roomPID != nil:
		ctx.Request(s.roomPID, msg)
	case s.joining != nil:
		s.joining.held = append(s.joining.held, msg)
	}
	// Otherwise the join was refused and the socket is closing.
}

// onTyping passes a chat.typing frame to the room, in order with the
// socket's messages (a message ends the indicator that preceded it).
func (s *session) onTyping(ctx actor.Context, t *inboundTyping) {
	s.toRoom(ctx, &socketTyping{room: s.room, user: s.user, typing: t.typing})
}

// resendStored answers a resend whose client_id is already stored with the
// original, to this socket only. The room remembers only its recent
// messages' client_ids, so older ones are looked up here (a resend counted
// against the message rate like any message). It is a read in an actor,
// but in this socket's own session: it delays only this client's next
// frame, and keeps its frames in order.
func (s *session) resendStored(clientID string) bool {
	m, err := s.e.cfg.Store.MessageByClientID(s.room, s.user.UserId, clientID)
	if err != nil {
		return false
	}
	s.sink.Send(MessageFrame(m, s.e.senders.load()))
	return true
}

// reject answers a bad frame with chat.error; a client that keeps at it is
// closed with 1008.
func (s *session) reject(errorType, msg string) {
	if s.strikes == nil {
		s.strikes = rate.NewLimiter(rate.Every(time.Second), s.e.cfg.StrikeBurst)
	}
	if !s.strikes.Allow() {
		s.sink.Close(ClosePolicy, "too many invalid frames")
		return
	}
	s.sink.Send(ErrorFrame(errorType, msg))
}

// onPosted handles the room's answer, which comes only for resends and
// failures: the sender receives a stored message with everyone else (and
// the room counts it).
func (s *session) onPosted(p *pb.Posted) {
	switch {
	case p.ErrorCode == CodeForbidden:
		s.sink.Send(ErrorFrame(ErrorForbidden, "You are not a member of this room."))
	case p.ErrorCode == CodeStorageFull:
		s.e.cfg.Refused(ErrorStorageFull)
		s.sink.Send(ErrorFrame(ErrorStorageFull, "Storage is full."))
	case p.ErrorCode != "":
		s.sink.Send(ErrorFrame(ErrorUnavailable, "message not stored, send it again (same client_id)"))
	case p.Duplicate:
		s.sink.Send(MessageFrame(p.Message, s.e.senders.load()))
	}
}
