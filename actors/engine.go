package actors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	pspb "livechat/persistence/pb"
)

// Engine is the actor system's facade for the edges.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	system *actor.ActorSystem
	root   *actor.RootContext
	hub    *actor.PID
	dir    *actor.PID
	// workers run every actor's mailbox (dispatcher.go).
	workers *mailboxWorkers
	// replicated is cluster mode: rooms append through the cluster's log
	// and deliver what it applies (room_log.go).
	replicated bool
	// instance names this engine's run to the other nodes on the bus.
	instance string

	// states holds each running room's last answered state and its actor
	// (room id → *roomView), so that reading a room that has not changed
	// since its last read needs no actor round trip.
	states sync.Map
	// landing holds, for a room that stopped with a command in flight to
	// the log, what closes when it lands (cluster mode; logQueue.landed).
	landing sync.Map

	// recentBytes is the memory held by every running room's ring.
	recentBytes atomic.Int64
	stats       stats

	inboxes       inboxes       // open inbox sockets, by user
	markers       *markerWriter // read-marker writes
	onMemberAdded atomic.Pointer[func(room, user int64)]
	// senders knows who hides their email, for every rendered message.
	senders *senderBook
}

// RecentBytes reports the memory held by the rooms' recent messages and
// its bound (Config.RecentBytes), for metrics.
func (e *Engine) RecentBytes() (held, budget int64) {
	return e.recentBytes.Load(), e.cfg.RecentBytes
}

// Errors of account requests.
var (
	// ErrEmailTaken means another account has that email.
	ErrEmailTaken = errors.New("actors: email already registered")
	// ErrUserNotFound means the user does not exist.
	ErrUserNotFound = errors.New("actors: user not found")
)

// NewEngine starts the actor system.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Writer == nil {
		return nil, errors.New("actors: Store and Writer are required")
	}
	cfg.setDefaults()
	hidden, err := cfg.Store.HiddenEmailUsers()
	if err != nil {
		return nil, fmt.Errorf("actors: %w", err)
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, markers: newMarkerWriter(cfg.Store), senders: newSenderBook(hidden), instance: newInstance(),
		workers: newMailboxWorkers()}
	// The actor library logs every dead letter at info level; replies to a
	// socket that just closed are routine, so only its warnings pass.
	e.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(warnOnly{cfg.Logger.Handler()}).With("component", "actor")
	}))
	e.root = e.system.Root
	// A room that panics is stopped, not restarted in place: the hub drains
	// its writes and reloads it from the store on the next message.
	stopOnPanic := actor.NewOneForOneStrategy(10, time.Second, func(reason any) actor.Directive {
		e.log.Error("room crashed", "reason", fmt.Sprint(reason))
		return actor.StopDirective
	})
	e.hub, err = e.root.SpawnNamed(e.props(func() actor.Actor { return newHub(e) },
		actor.WithSupervisor(stopOnPanic)), "rooms")
	if err != nil {
		return nil, fmt.Errorf("actors: spawn hub: %w", err)
	}
	e.dir, err = e.root.SpawnNamed(e.props(func() actor.Actor { return newDirectory(e) }), "users")
	if err != nil {
		return nil, fmt.Errorf("actors: spawn directory: %w", err)
	}
	if cfg.Store.Replicated() {
		e.replicated = true
		cfg.Store.ObserveLog(logObserver{e})
	}
	return e, nil
}

// warnOnly passes a handler's records at warning level and above.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(as)} }
func (w warnOnly) WithGroup(g string) slog.Handler       { return warnOnly{w.Handler.WithGroup(g)} }

// request sends msg to pid and waits for the answer, bounded by RequestTimeout.
func (e *Engine) request(pid *actor.PID, msg any) (any, error) {
	res, err := e.root.RequestFuture(pid, msg, e.cfg.RequestTimeout).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return res, nil
}

// Post stores a message in its room and delivers it to the room's sockets.
// It returns once the message is durable. duplicate is true when a message
// with the same client_id was stored before; the original is returned.
func (e *Engine) Post(p *pb.Post) (msg *pspb.Message, duplicate bool, err error) {
	res, err := e.request(e.hub, p)
	if err != nil {
		return nil, false, err
	}
	posted, ok := res.(*pb.Posted)
	if !ok {
		return nil, false, ErrUnavailable
	}
	if err := codeError(posted.ErrorCode); err != nil {
		return nil, false, err
	}
	if !posted.Duplicate {
		e.stats.acceptedEdge.Add(1)
	}
	return posted.Message, posted.Duplicate, nil
}

// ChangeMessage edits (text) or deletes (c.Delete) a message through its
// room, which orders the change with the room's other messages and
// changes, and returns once it is durable, with the message as it now is.
// unchanged is true when there was nothing to do: the same text, or a
// message already deleted. The caller has checked that the user may.
func (e *Engine) ChangeMessage(c *pb.ChangeMessage) (msg *pspb.Message, unchanged bool, err error) {
	res, err := e.request(e.hub, c)
	if err != nil {
		return nil, false, err
	}
	mc, ok := res.(*pb.MessageChanged)
	if !ok {
		return nil, false, ErrUnavailable
	}
	if err := codeError(mc.ErrorCode); err != nil {
		return nil, false, err
	}
	return mc.Message, mc.Unchanged, nil
}

// RoomState returns a room's recent messages and online users: the state
// the room last answered with, if nothing has changed since, else the
// room's answer now.
func (e *Engine) RoomState(room int64) (*pb.RoomState, error) {
	if v, ok := e.states.Load(room); ok {
		if st := v.(*roomView).state.Load(); st != nil && st.senders == e.senders.load().Gen() {
			return st.RoomState, nil
		}
	}
	res, err := e.request(e.hub, &pb.GetRoomState{Room: room})
	if err != nil {
		return nil, err
	}
	st, ok := res.(*pb.RoomState)
	if !ok {
		return nil, ErrUnavailable
	}
	return st, codeError(st.ErrorCode)
}

// Register creates an account (the password already hashed).
func (e *Engine) Register(u *pspb.User) (*pspb.User, error) {
	return e.userRequest(&pb.Register{User: u})
}

// UpdateProfile changes a user's nickname and/or picture.
func (e *Engine) UpdateProfile(up *pb.UpdateProfile) (*pspb.User, error) {
	return e.userRequest(up)
}

func (e *Engine) userRequest(msg any) (*pspb.User, error) {
	res, err := e.request(e.dir, msg)
	if err != nil {
		return nil, err
	}
	r, ok := res.(*pb.UserResult)
	if !ok {
		return nil, ErrUnavailable
	}
	switch r.ErrorCode {
	case "":
		return r.User, nil
	case CodeConflict:
		return nil, ErrEmailTaken
	case CodeNotFound:
		return nil, ErrUserNotFound
	case CodeStorageFull:
		return nil, ErrStorageFull
	default:
		return nil, ErrUnavailable
	}
}

// Session is the handle of one socket's session actor.
type Session struct {
	e   *Engine
	pid *actor.PID
}

// OpenSession starts the session actor of a socket connected to room.
// since < 0 means live messages only; events are the optional frame groups
// the socket asked for.
func (e *Engine) OpenSession(room int64, user *pb.Sender, since int64, events Events, sink Sink) *Session {
	// A lock-free mailbox: the default one starts with a ten-slot ring per
	// actor, about 400 bytes that every idle socket would keep.
	pid := e.root.Spawn(e.props(func() actor.Actor {
		return newSession(e, room, user, since, events, sink)
	}, actor.WithMailbox(actor.UnboundedLockfree())))
	return &Session{e: e, pid: pid}
}

// Message passes a chat message read from the socket.
func (s *Session) Message(text, clientID string) {
	s.e.root.Send(s.pid, &pb.Inbound{Text: text, ClientId: clientID})
}

// Read passes a chat.read frame: the user has read the room up to seq.
func (s *Session) Read(seq int64) {
	s.e.root.Send(s.pid, &socketRead{seq: seq})
}

// Typing passes on a chat.typing frame: the user started (true) or stopped
// typing. The edge applies the socket's typing rate first.
func (s *Session) Typing(typing bool) {
	s.e.root.Send(s.pid, &inboundTyping{typing: typing})
}

// Close ends the session after the frames already passed; it leaves its
// room. Call it once the socket's read loop has ended.
func (s *Session) Close() {
	s.e.root.Poison(s.pid)
}

// Shutdown stops every actor, waiting for rooms to finish what they hold.
// Close sockets first; close the writer and store after.
func (e *Engine) Shutdown() {
	_ = e.root.PoisonFuture(e.hub).Wait()
	_ = e.root.PoisonFuture(e.dir).Wait()
	e.markers.close()
	e.system.Shutdown()
	e.workers.stop()
}

// props are an actor's props, run by the engine's mailbox workers.
func (e *Engine) props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(producer, append(opts, actor.WithDispatcher(e.workers))...)
}

// CreateRoom stores a new room, its owner and the given members (ids of
// existing users). It needs no actor: the store's transaction keeps posts
// unique, and the room's actor starts on first use.
func (e *Engine) CreateRoom(r *pspb.Room, members ...int64) error {
	return e.cfg.Store.CreateRoom(r, members...)
}

// StrikeBurst is how many bad frames a socket may send before it is closed
// with 1008 (Config.StrikeBurst).
func (e *Engine) StrikeBurst() int { return e.cfg.StrikeBurst }

// MaxRoomMembers is the most members a room may have (Config.MaxRoomMembers).
func (e *Engine) MaxRoomMembers() int { return e.cfg.MaxRoomMembers }

// running returns the actor of room if it is running on this node.
func (e *Engine) running(room int64) *actor.PID {
	if v, ok := e.states.Load(room); ok {
		return v.(*roomView).pid
	}
	return nil
}

// newInstance is a random name for this engine's run.
func newInstance() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
