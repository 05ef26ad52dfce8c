package actors

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// room is the actor that owns one chat room: it assigns seq, hands messages
// to the writer, and delivers each durable message, encoded once, to every
// member in seq order.
type room struct {
	e  *Engine
	id int64

	nextSeq    int64 // last seq assigned
	delivered  int64 // last seq delivered (durable)
	rev        int64 // last rev assigned: every new message, edit and deletion takes one
	durableRev int64 // last rev confirmed durable
	recent     *ring
	view       *roomView      // the state last answered, published for readers
	pending    []*pendingPost // assigned, waiting for the writer, in rev order
	proposals  logQueue       // cluster mode: records for the log, in order
	clientIDs  map[clientKey]int64
	// inboxTold is the last seq the node announced to inbox sockets
	// itself, before the room registered for the log (cluster mode).
	inboxTold int64
	edits

	members
	reads
	roster
	typists
	active      bool // work arrived since the last idle check
	idleTimer   *time.Timer
	passivating bool
}

// pendingPost is a record of the room's log waiting to become durable: a
// new message, or (change not Created) an edit or a deletion.
type pendingPost struct {
	msg     *pspb.Message
	change  persistence.Change
	replyTo *actor.PID
	quiet   bool         // from a session: no answer once stored (socketPost)
	dups    []*actor.PID // client_id resends waiting for the same message
}

// roomView publishes a room's state to readers outside the actor: the
// room stores what it answered to GetRoomState and clears it when its
// messages or online users change, and readers take it only while the
// Senders it was rendered with are current, so it is never stale.
type roomView struct {
	state atomic.Pointer[viewState]
	pid   *actor.PID // the room's actor, set before the view is published
}

// viewState is a published state and the generation of the Senders its
// messages were rendered with.
type viewState struct {
	*pb.RoomState
	senders uint64
}

// changed marks the published state stale. Only the room's actor calls it.
func (r *room) changed() { r.view.state.Store(nil) }

type clientKey struct {
	user int64
	id   string
}

func newRoom(e *Engine, st *roomState) *room {
	r := &room{
		e: e, id: st.room.Id,
		nextSeq: st.lastSeq, delivered: st.lastSeq,
		rev: st.lastRev, durableRev: st.lastRev,
		edits:     newEdits(),
		recent:    newRing(e.cfg.RecentMessages, &e.recentBytes),
		view:      &roomView{},
		clientIDs: make(map[clientKey]int64),
		members:   newMembers(e.cfg.MaxHeldBytes),
		reads:     newReads(),
		roster:    newRoster(st.room, st.memberIDs),
	}
	senders := e.senders.load()
	for _, m := range st.recent {
		r.remember(m, MessageFrame(m, senders), senders.Gen())
		if m.ClientId != "" {
			r.clientIDs[clientKey{m.SenderId, m.ClientId}] = m.Seq
		}
	}
	return r
}

// Receive implements actor.Actor.
func (r *room) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.onStarted(ctx)
	case *actor.Stopping:
		r.onStopping(ctx)
	case *idleTick:
		r.onIdleTick(ctx)
		return // timers are not activity
	case *passivate:
		r.onPassivate(ctx)
		return
	case *presenceTick:
		r.onPresenceTick(ctx)
		return
	case *typingTick:
		r.onTypingTick(ctx)
		return
	case *pb.Post:
		r.onPost(ctx, m, false)
	case *socketPost:
		r.onPost(ctx, m.Post, true)
	case *memberChange:
		r.onMemberChange(ctx, m)
	case *memberStored:
		r.onMemberStored(ctx, m)
	case *joinsStored:
		r.onJoinsStored(ctx, m)
	case *socketTyping:
		r.onTyping(ctx, m)
	case *persisted:
		r.onPersisted(ctx, m)
	case *pb.ChangeMessage:
		r.onChange(ctx, m)
	case *changeLoaded:
		r.onChangeLoaded(ctx, m)
	case *localJoin:
		r.onJoin(ctx, m)
	case *pb.Leave:
		r.onLeave(ctx)
	case *caughtUp:
		r.onCaughtUp(m)
	case *pb.GetRoomState:
		r.onGetState(ctx)
	case *socketRead:
		r.onSocketRead(ctx, m)
	case *markRead:
		r.onMarkRead(ctx, m)
	case *readFlush:
		r.onReadFlush(ctx, m)
	case *markerStored:
		r.onMarkerStored(ctx, m)
	case *receiptTick:
		r.onReceiptTick()
	case *applied:
		r.onApplied(ctx, m)
		return // other nodes' traffic keeps no room here alive
	case *proposed:
		r.onProposed(ctx, m)
	case *membersApplied:
		r.onMembersApplied(ctx)
		return
	case *markerApplied:
		r.onMarkerApplied(m)
		return // another node's activity keeps no room here alive
	case *logCatchUp:
		r.onLogCatchUp(ctx, m)
	case *busEvent:
		r.onBusEvent(m)
		return // another node's activity keeps no room here alive
	case *busTick:
		r.onBusTick(ctx)
		return
	}
	r.active = true
}

func (r *room) onStarted(ctx actor.Context) {
	r.view.pid = ctx.Self()
	if r.e.replicated {
		r.joinLog(ctx)
	} else {
		r.e.states.Store(r.id, r.view)
	}
	r.startBus(ctx)
	r.scheduleIdleCheck(ctx)
}

// onStopping runs on passivation, shutdown and crash. Remaining members are
// told to reconnect; posts still waiting for the disk are answered with an
// error (they may still be stored: a client_id resend is deduplicated).
func (r *room) onStopping(ctx actor.Context) {
	if r.e.replicated {
		r.leaveLog()
		r.dropProposals(ctx)
	} else {
		r.e.states.CompareAndDelete(r.id, r.view)
	}
	r.recent.release()
	if r.idleTimer != nil {
		r.idleTimer.Stop()
	}
	r.stopGrace()
	r.stopReads(ctx)
	r.stopTypingTimer()
	r.stopBus()
	for _, m := range r.list {
		m.sink.Close(CloseInternal, "room restarted, reconnect with since")
	}
	for _, p := range r.pending {
		r.fail(ctx, p, CodeUnavailable)
	}
	r.pending = nil
	r.stopRoster(ctx)
}

// scheduleIdleCheck arms the passivation timer. It is our own timer rather
// than SetReceiveTimeout, whose implementation races (protoactor-go #1139).
func (r *room) scheduleIdleCheck(ctx actor.Context) {
	self, root := ctx.Self(), r.e.root
	r.idleTimer = time.AfterFunc(r.e.cfg.RoomIdleTimeout, func() { root.Send(self, &idleTick{}) })
}

// idle reports a room with no sockets, nothing waiting for the disk, no
// leave waiting to be announced, no membership change under way and no
// work since the last check: it has been idle for one to two timeouts.
func (r *room) idle() bool {
	return r.quiet() && !r.active
}

// quiet reports a room with no sockets and nothing under way: it may stop
// now without anyone noticing but the next reader, who loads it again.
func (r *room) quiet() bool {
	return len(r.list) == 0 && len(r.pending) == 0 && r.proposals.queued() == 0 && len(r.leaving) == 0 && !r.changing() && r.loads == 0 && r.readsIdle()
}

// overBudget reports the rooms' rings together over Config.RecentBytes.
func (r *room) overBudget() bool {
	return r.e.recentBytes.Load() > r.e.cfg.RecentBytes
}

// shed asks the hub to stop a quiet room at once while the rings are over
// their budget: a room loaded to answer a read (its detail) would
// otherwise keep its ring until it went idle, and a reader going through
// many rooms would hold all of theirs.
func (r *room) shed(ctx actor.Context) {
	if !r.passivating && r.overBudget() && r.quiet() {
		r.passivating = true
		ctx.Send(ctx.Parent(), &roomIdle{id: r.id})
	}
}

func (r *room) onIdleTick(ctx actor.Context) {
	if r.idle() && !r.passivating {
		r.passivating = true
		ctx.Send(ctx.Parent(), &roomIdle{id: r.id})
		return
	}
	r.active = false
	r.scheduleIdleCheck(ctx)
}

// onPassivate stops the room if nothing arrived since it asked to; otherwise
// the hub reinstates it.
func (r *room) onPassivate(ctx actor.Context) {
	r.passivating = false
	if r.idle() || r.overBudget() && r.quiet() {
		ctx.Stop(ctx.Self())
		return
	}
	ctx.Send(ctx.Parent(), &stillActive{id: r.id})
	r.active = false
	r.scheduleIdleCheck(ctx)
}

// onGetState answers the published state, building it first when a change
// cleared it: room details are read far more often than rooms change.
func (r *room) onGetState(ctx actor.Context) {
	senders := r.e.senders.load()
	st := r.view.state.Load()
	if st == nil || st.senders != senders.Gen() {
		k := min(r.e.cfg.DetailMessages, r.recent.len())
		st = &viewState{senders: senders.Gen(), RoomState: &pb.RoomState{
			RecentJson: r.recent.appendLastMessages(make([]byte, 0, 256*k+2), k, senders), Online: r.onlineNicknames()}}
		r.view.state.Store(st) // answers are read-only from here on
	}
	ctx.Respond(st.RoomState)
	r.shed(ctx)
}

func (r *room) reply(ctx actor.Context, to *actor.PID, msg any) {
	if to != nil {
		ctx.Send(to, msg)
	}
}
