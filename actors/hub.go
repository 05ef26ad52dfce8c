package actors

import (
	"errors"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
)

// hub activates room actors on first use and passivates idle ones. It is
// the parent and supervisor of every room: a room that panics is stopped,
// its pending writes are drained, and the next message reloads it from the
// store. While a room loads, passivates or drains, messages for it wait here
// in arrival order.
type hub struct {
	e     *Engine
	rooms map[int64]*roomEntry
	byPID map[string]int64
}

type entryState int

const (
	roomLoading entryState = iota
	roomActive
	roomPassivating
	roomDraining
)

type roomEntry struct {
	pid      *actor.PID
	state    entryState
	buffered []envelope
}

type envelope struct {
	msg    any
	sender *actor.PID
}

func newHub(e *Engine) *hub {
	return &hub{e: e, rooms: make(map[int64]*roomEntry), byPID: make(map[string]int64)}
}

// Receive implements actor.Actor.
func (h *hub) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pb.Post:
		h.route(ctx, m.Room)
	case *socketPost:
		h.route(ctx, m.Room)
	case *socketTyping:
		h.route(ctx, m.room)
	case *localJoin:
		h.route(ctx, m.Room)
	case *pb.Leave:
		if h.rooms[m.Room] != nil { // a room that is not loaded has no members
			h.route(ctx, m.Room)
		}
	case *pb.GetRoomState:
		h.route(ctx, m.Room)
	case *memberChange:
		h.route(ctx, m.room)
	case *markRead:
		h.route(ctx, m.room)
	case *socketRead:
		h.route(ctx, m.room)
	case *pb.ChangeMessage:
		h.route(ctx, m.Room)
	case *roomLoaded:
		h.onLoaded(ctx, m)
	case *roomIdle:
		h.onIdle(ctx, m)
	case *stillActive:
		h.onStillActive(ctx, m)
	case *actor.Terminated:
		h.onTerminated(ctx, m)
	case *roomDrained:
		h.onDrained(ctx, m)
	}
}

func (h *hub) route(ctx actor.Context, id int64) {
	en := h.rooms[id]
	if en == nil {
		en = &roomEntry{state: roomLoading}
		h.rooms[id] = en
		h.load(ctx, id)
	}
	if en.state == roomActive {
		ctx.Forward(en.pid)
		return
	}
	en.buffered = append(en.buffered, envelope{ctx.Message(), ctx.Sender()})
}

// load reads a room's state in a goroutine: the hub never waits on disk.
func (h *hub) load(ctx actor.Context, id int64) {
	self, e := ctx.Self(), h.e
	go func() {
		st, err := loadRoom(e, id)
		e.root.Send(self, &roomLoaded{id: id, state: st, err: err})
	}()
}

func loadRoom(e *Engine, id int64) (*roomState, error) {
	r, err := e.cfg.Store.RoomByID(id)
	if err != nil {
		return nil, err
	}
	last, err := e.cfg.Store.LastSeq(id)
	if err != nil {
		return nil, err
	}
	rev, err := e.cfg.Store.LastRev(id)
	if err != nil {
		return nil, err
	}
	recent, err := e.cfg.Store.MessagesBefore(id, 0, e.cfg.RecentMessages)
	if err != nil {
		return nil, err
	}
	ids, err := e.cfg.Store.MemberIDs(id)
	if err != nil {
		return nil, err
	}
	return &roomState{room: r, lastSeq: last, lastRev: rev, recent: recent, memberIDs: ids}, nil
}

func (h *hub) onLoaded(ctx actor.Context, m *roomLoaded) {
	en := h.rooms[m.id]
	if en == nil {
		return
	}
	if m.err != nil {
		code := CodeUnavailable
		if errors.Is(m.err, persistence.ErrNotFound) {
			code = CodeNotFound
		} else {
			h.e.log.Error("hub: load room failed", "room", m.id, "err", m.err)
		}
		h.fail(ctx, m.id, en, code)
		return
	}
	props := h.e.props(func() actor.Actor { return newRoom(h.e, m.state) })
	pid, err := ctx.SpawnNamed(props, "room-"+strconv.FormatInt(m.id, 10))
	if err != nil {
		h.e.log.Error("hub: spawn room failed", "room", m.id, "err", err)
		h.fail(ctx, m.id, en, CodeUnavailable)
		return
	}
	en.pid = pid
	h.byPID[pid.Id] = m.id
	h.e.stats.roomsActive.Add(1)
	h.activate(ctx, en)
}

// fail refuses everything waiting for a room that could not start, and
// forgets it: the next message tries again.
func (h *hub) fail(ctx actor.Context, id int64, en *roomEntry, code string) {
	for _, env := range en.buffered {
		refuse(ctx, env, code)
	}
	delete(h.rooms, id)
}

// activate marks en active and delivers what waited, in order.
func (h *hub) activate(ctx actor.Context, en *roomEntry) {
	en.state = roomActive
	for _, env := range en.buffered {
		ctx.RequestWithCustomSender(en.pid, env.msg, env.sender)
	}
	en.buffered = nil
}

func (h *hub) onIdle(ctx actor.Context, m *roomIdle) {
	if en := h.rooms[m.id]; en != nil && en.state == roomActive {
		en.state = roomPassivating
		ctx.Send(en.pid, &passivate{})
	}
}

func (h *hub) onStillActive(ctx actor.Context, m *stillActive) {
	if en := h.rooms[m.id]; en != nil && en.state == roomPassivating {
		h.activate(ctx, en)
	}
}

// onTerminated handles a room that stopped (passivated or crashed). Its
// last writes may still be queued; a writer barrier waits for them (in
// cluster mode, its last command to the log: Engine.logLanded) before the
// room may load again, so a reload always sees every assigned seq and
// appends after everything the stopped room appended.
func (h *hub) onTerminated(ctx actor.Context, m *actor.Terminated) {
	id, ok := h.byPID[m.Who.Id]
	if !ok {
		return
	}
	delete(h.byPID, m.Who.Id)
	h.e.stats.roomsActive.Add(-1)
	en := h.rooms[id]
	if en == nil {
		h.e.landing.Delete(id)
		return
	}
	en.state, en.pid = roomDraining, nil
	self, root, w := ctx.Self(), h.e.root, h.e.cfg.Writer
	h.e.logLanded(id, func() {
		w.Append(nil, func(error) { root.Send(self, &roomDrained{id: id}) })
	})
}

func (h *hub) onDrained(ctx actor.Context, m *roomDrained) {
	en := h.rooms[m.id]
	if en == nil || en.state != roomDraining {
		return
	}
	if len(en.buffered) == 0 {
		delete(h.rooms, m.id)
		return
	}
	en.state = roomLoading
	h.load(ctx, m.id)
}

// refuse answers a message that cannot reach its room.
func refuse(ctx actor.Context, env envelope, code string) {
	if c, ok := env.msg.(*memberChange); ok {
		c.reply <- memberResult{err: codeError(code)}
		return
	}
	if env.sender == nil {
		return
	}
	switch env.msg.(type) {
	case *pb.Post, *socketPost:
		ctx.Send(env.sender, &pb.Posted{ErrorCode: code})
	case *pb.GetRoomState:
		ctx.Send(env.sender, &pb.RoomState{ErrorCode: code})
	case *pb.ChangeMessage:
		ctx.Send(env.sender, &pb.MessageChanged{ErrorCode: code})
	case *localJoin:
		ctx.Send(env.sender, &pb.Joined{})
	case *markRead:
		ctx.Send(env.sender, &readMarked{code: code})
	}
}
