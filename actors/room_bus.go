package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"livechat/actors/pb"
)

// Bus carries a room's ephemeral events (presence, typing, read receipts,
// membership frames) between the nodes that serve it, in cluster mode:
// best effort and not stored, unlike messages, which every node reads from
// the log. The cluster package implements it on core NATS subjects.
type Bus interface {
	// Publish sends event to every node subscribed to room, this one
	// included.
	Publish(room int64, event []byte)
	// Subscribe calls deliver, in publishing order per publisher, with
	// the events of room until cancel is called.
	Subscribe(room int64, deliver func(event []byte)) (cancel func())
}

// Presence across nodes. Each node's room keeps its own sockets' presence
// (room_presence.go, with its grace) and tells the other nodes when a user
// comes online or goes offline there; it also sends its whole online set
// every busHeartbeat while it has one, and on request when another node's
// room starts. A user is online in the room while online on any node, and
// each node announces join and leave to its own sockets when that changes,
// so every socket sees them once whichever node it is on. A node not heard
// for busExpiry (killed, cut off) is taken offline with its users.
const (
	busHeartbeat = 5 * time.Second
	busExpiry    = 3 * busHeartbeat
)

// remoteNode is the presence of another node in the room.
type remoteNode struct {
	users map[int64]string // user → nickname
	heard time.Time
}

// busEvent carries an event that arrived for the room.
type busEvent struct{ data []byte }

// busTick sends the room's heartbeat and expires silent nodes.
type busTick struct{}

// startBus subscribes the room to its events and asks the other nodes
// serving it who is online there.
func (r *room) startBus(ctx actor.Context) {
	bus := r.e.cfg.Bus
	if bus == nil {
		return
	}
	self, root := ctx.Self(), r.e.root
	r.busCancel = bus.Subscribe(r.id, func(b []byte) { root.Send(self, &busEvent{data: b}) })
	r.publish(&pb.RoomEvent{Ask: true})
	r.armBus(ctx)
}

// stopBus tells the other nodes that the room's users here went offline
// and unsubscribes.
func (r *room) stopBus() {
	if r.busCancel == nil {
		return
	}
	if len(r.online) > 0 {
		r.publish(&pb.RoomEvent{Snapshot: true})
	}
	r.busCancel()
	r.busCancel = nil
	if r.busTimer != nil {
		r.busTimer.Stop()
	}
}

func (r *room) armBus(ctx actor.Context) {
	self, root := ctx.Self(), r.e.root
	r.busTimer = time.AfterFunc(busHeartbeat, func() { root.Send(self, &busTick{}) })
}

// publish sends ev from this node, if the room is on a bus.
func (r *room) publish(ev *pb.RoomEvent) {
	if r.busCancel == nil {
		return
	}
	ev.Node = r.e.instance
	b, err := proto.Marshal(ev)
	if err != nil {
		r.e.log.Error("room: encode event", "room", r.id, "err", err)
		return
	}
	r.e.cfg.Bus.Publish(r.id, b)
}

// publishFrame sends a frame for the other nodes' sockets of the room.
func (r *room) publishFrame(frame []byte, ev Events, droppable bool, except int64) {
	if r.busCancel != nil {
		r.publish(&pb.RoomEvent{Frame: frame, Events: uint32(ev), Droppable: droppable, ExceptUser: except})
	}
}

// snapshot is the room's online set on this node.
func (r *room) snapshot() *pb.RoomEvent {
	ev := &pb.RoomEvent{Snapshot: true, Up: make([]*pb.Online, 0, len(r.online))}
	for id, p := range r.online {
		ev.Up = append(ev.Up, &pb.Online{User: id, Nickname: p.nickname})
	}
	return ev
}

func (r *room) onBusTick(ctx actor.Context) {
	if len(r.online) > 0 {
		r.publish(r.snapshot())
	}
	now := time.Now()
	for node, rn := range r.remote {
		if now.Sub(rn.heard) > busExpiry {
			r.e.log.Warn("room: a node went silent, its users are offline", "room", r.id, "node", node)
			r.applyRemote(node, &pb.RoomEvent{Snapshot: true})
		}
	}
	r.armBus(ctx)
}

// onBusEvent applies another node's event.
func (r *room) onBusEvent(e *busEvent) {
	ev := &pb.RoomEvent{}
	if err := proto.Unmarshal(e.data, ev); err != nil || ev.Node == r.e.instance {
		return
	}
	switch {
	case ev.Ask:
		if len(r.online) > 0 {
			r.publish(r.snapshot())
		}
	case len(ev.Frame) > 0:
		r.broadcastRemoteFrame(ev)
	default:
		r.applyRemote(ev.Node, ev)
	}
}

// broadcastRemoteFrame hands another node's frame to this node's sockets.
func (r *room) broadcastRemoteFrame(ev *pb.RoomEvent) {
	group := Events(ev.Events)
	for _, m := range r.list {
		switch {
		case m.user.UserId == ev.ExceptUser && ev.ExceptUser != 0:
		case group != 0 && !m.events.Has(group):
		case m.catchingUp && ev.Droppable:
		case m.catchingUp:
			m.hold(ev.Frame, r.maxHeld)
		case ev.Droppable:
			m.sink.SendDroppable(ev.Frame)
		default:
			m.sink.Send(ev.Frame)
		}
	}
}

// applyRemote applies a node's presence change, announcing to this
// node's sockets the users it brings online or takes offline everywhere.
func (r *room) applyRemote(node string, ev *pb.RoomEvent) {
	rn := r.remote[node]
	if rn == nil {
		if len(ev.Up) == 0 {
			return
		}
		rn = &remoteNode{users: map[int64]string{}}
		r.remote[node] = rn
	}
	rn.heard = time.Now()
	if ev.Snapshot {
		keep := make(map[int64]bool, len(ev.Up))
		for _, u := range ev.Up {
			keep[u.User] = true
		}
		for id := range rn.users {
			if !keep[id] {
				ev.Down = append(ev.Down, id)
			}
		}
	}
	for _, id := range ev.Down {
		nick, ok := rn.users[id]
		if !ok {
			continue
		}
		delete(rn.users, id)
		if !r.onlineAnywhere(id) {
			r.changed()
			r.broadcast(PresenceFrame(false, nick), nil)
		}
	}
	for _, u := range ev.Up {
		if _, ok := rn.users[u.User]; ok {
			continue
		}
		if !r.onlineAnywhere(u.User) {
			r.changed()
			r.broadcast(PresenceFrame(true, u.Nickname), nil)
		}
		rn.users[u.User] = u.Nickname
	}
	if len(rn.users) == 0 {
		delete(r.remote, node)
	}
}

// onlineElsewhere reports user online in the room on another node.
func (ms *members) onlineElsewhere(user int64) bool {
	for _, rn := range ms.remote {
		if _, ok := rn.users[user]; ok {
			return true
		}
	}
	return false
}

// onlineAnywhere reports user online in the room on any node.
func (ms *members) onlineAnywhere(user int64) bool {
	return ms.online[user] != nil || ms.onlineElsewhere(user)
}
