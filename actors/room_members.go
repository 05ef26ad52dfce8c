package actors

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
)

// member is one session in a room.
type member struct {
	pid    *actor.PID
	user   *pb.Sender
	events Events // the optional frame groups its socket asked for
	sink   Sink
	// catchingUp is set while a reconnect backlog is read from the store;
	// live frames wait in held so that they follow the backlog.
	catchingUp bool
	held       [][]byte
	heldBytes  int
	// skipThrough is the since of a member that joined past the last
	// message the room had delivered (its node was behind the log): the
	// messages up to it, which the client has, are not sent when the room
	// catches up. 0 once passed.
	skipThrough int64
}

// hold keeps a live frame for a member catching up. A socket that reads
// its backlog so slowly that more than limit bytes of live frames pile up
// is closed as a slow consumer, as its outbound queue would be: a client
// never makes the room hold more than that for it.
func (m *member) hold(frame []byte, limit int) {
	if m.heldBytes < 0 {
		return // already closed for it
	}
	m.heldBytes += len(frame)
	if m.heldBytes > limit {
		m.held, m.heldBytes = nil, -1
		m.sink.Close(CloseSlowConsumer, "slow consumer: live frames piled up behind its backlog")
		return
	}
	m.held = append(m.held, frame)
}

// presence counts a user's sockets in the room: join and leave are
// announced once per user, not per socket. A user stays online, without
// sockets, for the presence grace after the last one closes (see
// room_presence.go).
type presence struct {
	nickname string
	sockets  int
	leaveID  uint64 // its pending leave while sockets is 0; 0 when none
}

// members is the room's membership: a slice for fast fan-out plus indexes.
type members struct {
	list   []*member
	index  map[string]int      // pid id → position in list
	online map[int64]*presence // announced as joined, leave not yet announced
	graces
	// Cluster mode: the room's presence on the other nodes (room_bus.go).
	remote    map[string]*remoteNode // node → its online users
	busCancel func()                 // unsubscribes; nil off the bus
	busTimer  *time.Timer
	maxHeld   int // Config.MaxHeldBytes
}

func newMembers(maxHeld int) members {
	return members{index: make(map[string]int), online: make(map[int64]*presence), remote: map[string]*remoteNode{}, maxHeld: maxHeld}
}

func (ms *members) add(m *member) {
	ms.index[m.pid.Id] = len(ms.list)
	ms.list = append(ms.list, m)
}

func (ms *members) remove(pid *actor.PID) *member {
	i, ok := ms.index[pid.Id]
	if !ok {
		return nil
	}
	m := ms.list[i]
	last := len(ms.list) - 1
	ms.list[i] = ms.list[last]
	ms.index[ms.list[i].pid.Id] = i
	ms.list[last] = nil
	ms.list = ms.list[:last]
	delete(ms.index, pid.Id)
	return m
}

// broadcast hands frame to every member but except. No allocation per
// member: every sink receives the same bytes.
func (ms *members) broadcast(frame []byte, except *member) {
	ms.broadcastMessage(frame, except, 0)
}

// broadcastMessage is broadcast for the frame of message seq (0: not a
// message): a member whose skipThrough reaches seq already has it.
func (ms *members) broadcastMessage(frame []byte, except *member, seq int64) {
	later := len(ms.list) > inlineWrites
	for _, m := range ms.list {
		if m.skipThrough > 0 && seq > 0 {
			if seq <= m.skipThrough {
				continue
			}
			m.skipThrough = 0
		}
		switch {
		case m == except:
		case m.catchingUp:
			m.hold(frame, ms.maxHeld)
		case later:
			m.sink.SendLater(frame)
		default:
			m.sink.Send(frame)
		}
	}
}

// inlineWrites is the most sockets a broadcast may write at once on the
// room's actor (a small room's message costs no wait for the writers'
// clock); a bigger room hands its writes to the clock's writers, which
// write its sockets in parallel and gather what comes meanwhile.
const inlineWrites = 32

// broadcastEvent hands frame to every member whose socket asked for the
// group ev, but except.
func (ms *members) broadcastEvent(frame []byte, ev Events, except *member) {
	for _, m := range ms.list {
		switch {
		case m == except || !m.events.Has(ev):
		case m.catchingUp:
			m.hold(frame, ms.maxHeld)
		default:
			m.sink.Send(frame)
		}
	}
}

// broadcastDroppable hands frame to every member whose socket asked for
// the group ev, as an optional frame (Sink.SendDroppable): a socket with
// over half its outbound limit unsent, or catching up on a backlog, goes
// without it.
func (ms *members) broadcastDroppable(frame []byte, ev Events) {
	for _, m := range ms.list {
		if m.events.Has(ev) && !m.catchingUp {
			m.sink.SendDroppable(frame)
		}
	}
}

func (ms *members) onlineNicknames() []string {
	type entry struct {
		id   int64
		nick string
	}
	es := make([]entry, 0, len(ms.online))
	for id, p := range ms.online {
		es = append(es, entry{id, p.nickname})
	}
	for _, rn := range ms.remote {
		for id, nick := range rn.users {
			if ms.online[id] == nil {
				es = append(es, entry{id, nick})
			}
		}
	}
	if len(ms.remote) > 1 { // a user online on two other nodes is listed once
		es = slices.CompactFunc(slices.SortedFunc(slices.Values(es), func(a, b entry) int { return int(a.id - b.id) }), func(a, b entry) bool { return a.id == b.id })
	}
	slices.SortFunc(es, func(a, b entry) int { return int(a.id - b.id) })
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.nick
	}
	return out
}

// onJoin adds a session. With since >= 0 the member first receives every
// delivered message after since, then live ones, with no gap or duplicate;
// a member with events=edit first receives the changes made to messages up
// to since after since was stored (see loadBacklog).
func (r *room) onJoin(ctx actor.Context, j *localJoin) {
	m := &member{pid: ctx.Sender(), user: j.User, events: j.events, sink: j.sink}
	if m.pid == nil {
		return
	}
	if _, dup := r.index[m.pid.Id]; dup {
		return
	}
	if !r.visible(j.User.UserId) {
		// Removed between its handshake and this join.
		j.sink.Close(CloseRemoved, "removed from room")
		ctx.Request(m.pid, &pb.Joined{Room: r.id, LastSeq: r.delivered})
		return
	}
	r.userJoined(j.User)
	r.add(m)
	// Sent with the room as its sender: the session talks to the room
	// directly from then on.
	ctx.Request(m.pid, &pb.Joined{Room: r.id, LastSeq: r.delivered})
	edits := m.events.Has(EventEdit) && j.Since > 0
	if j.Since >= 0 && (j.Since < r.delivered || edits && j.Since <= r.delivered) {
		r.sendBacklog(ctx, m, j.Since, edits)
	}
	if j.Since > r.delivered {
		// Only a cluster node admits such a since (it is behind the log):
		// the client has the messages up to it.
		m.skipThrough = j.Since
	}
}

// sendBacklog sends what a reconnecting member missed, at the client's pace
// (Sink.SendBacklog waits for queue space, so it runs in a goroutine) while
// live frames are held: from the ring when it still holds everything after
// since, otherwise read from the store.
func (r *room) sendBacklog(ctx actor.Context, m *member, since int64, edits bool) {
	m.catchingUp = true
	var frames [][]byte
	if oldest := r.recent.oldestSeq(); oldest != 0 && since+1 >= oldest {
		frames = make([][]byte, 0, r.delivered-since)
		senders := r.e.senders.load()
		for i := int(since + 1 - oldest); i < r.recent.len(); i++ {
			frames = append(frames, r.recent.current(i, senders).frame)
		}
	}
	b := backlog{roomID: r.id, since: since, upTo: r.delivered, upToRev: -1, fromRing: frames}
	if edits {
		b.upToRev = r.durableRev
	}
	go loadBacklog(r.e, ctx.Self(), m.pid, m.sink, b)
}

// backlog is what a reconnecting member missed: the messages in (since,
// upTo] (fromRing, when the ring held them all) and, with upToRev >= 0, the
// changes up to upToRev to messages up to since.
type backlog struct {
	roomID, since, upTo, upToRev int64
	fromRing                     [][]byte
}

// loadBacklog runs outside the actor: it queues the changes the member
// missed, then the ring's frames, or reads (since, upTo] from the store in
// chunks and queues those, then reports back to the room.
func loadBacklog(e *Engine, room, member *actor.PID, sink Sink, b backlog) {
	defer e.root.Send(room, &caughtUp{member: member})
	if b.upToRev >= 0 && !sendChanges(e, sink, b) {
		return
	}
	roomID, since, upTo := b.roomID, b.since, b.upTo
	if b.fromRing != nil {
		sink.SendBacklog(b.fromRing)
		return
	}
	for since < upTo {
		msgs, err := e.cfg.Store.MessagesAfter(roomID, since, e.cfg.BacklogChunk)
		if err != nil {
			e.log.Error("room: backlog read failed", "room", roomID, "err", err)
			sink.Close(CloseInternal, "history unavailable, reconnect")
			return
		}
		if len(msgs) == 0 {
			return
		}
		frames := make([][]byte, 0, len(msgs))
		for _, msg := range msgs {
			if msg.Seq > upTo {
				break
			}
			frames = append(frames, MessageFrame(msg, e.senders.load()))
			since = msg.Seq
		}
		if !sink.SendBacklog(frames) {
			return
		}
		if len(frames) < len(msgs) {
			return
		}
	}
}

func (r *room) onCaughtUp(c *caughtUp) {
	i, ok := r.index[c.member.Id]
	if !ok {
		return
	}
	m := r.list[i]
	for _, f := range m.held {
		m.sink.Send(f)
	}
	m.held, m.heldBytes, m.catchingUp = nil, 0, false
}

// onLeave removes the sending session; the user's last socket starts the
// grace after which the leave is announced to the others.
func (r *room) onLeave(ctx actor.Context) {
	m := r.remove(ctx.Sender())
	if m == nil {
		return
	}
	r.userLeft(ctx, m.user.UserId)
}

// sendChanges queues, in change order, one chat.message.update or
// chat.message.delete for each message up to since whose latest change came
// after message since was stored. It reports whether the member is still
// there to receive the rest.
func sendChanges(e *Engine, sink Sink, b backlog) bool {
	last, err := e.cfg.Store.Message(b.roomID, b.since)
	if err != nil {
		e.log.Error("room: backlog read failed", "room", b.roomID, "err", err)
		sink.Close(CloseInternal, "history unavailable, reconnect")
		return false
	}
	after := last.CreatedRev
	for {
		msgs, err := e.cfg.Store.ChangesAfter(b.roomID, after, b.upToRev, b.since, e.cfg.BacklogChunk)
		if err != nil {
			e.log.Error("room: backlog read failed", "room", b.roomID, "err", err)
			sink.Close(CloseInternal, "history unavailable, reconnect")
			return false
		}
		if len(msgs) == 0 {
			return true
		}
		frames := make([][]byte, len(msgs))
		for i, m := range msgs {
			frames[i] = ChangeFrame(m)
			after = m.Rev
		}
		if !sink.SendBacklog(frames) {
			return false
		}
		if len(msgs) < e.cfg.BacklogChunk {
			return true
		}
	}
}
