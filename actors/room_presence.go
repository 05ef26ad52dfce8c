package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
)

// Presence coalescing. A user whose last socket in a room closes stays
// online for the presence grace (Config.PresenceGrace, 1s by default); a
// socket of that user opening within it cancels the leave, so a reconnect
// sends neither a leave nor a join. Only when the grace passes with no
// socket is the leave announced.
//
// This also bounds presence frames: a leave comes at least one grace after
// the join before it (the join precedes the close the grace starts from),
// and a join at least one grace after the leave before it, so each user
// produces at most one join and one leave per grace in a room, however
// fast it reconnects.
//
// The grace is the same for every leave, so pending leaves fall due in the
// order they were queued: one FIFO and one timer per room (armed while the
// FIFO is not empty) serve all of them. The timer sends presenceTick to the
// room rather than touching it.

// presenceTick asks a room to announce the leaves whose grace has passed.
type presenceTick struct{}

// pendingLeave is a leave to announce at due unless the user came back.
type pendingLeave struct {
	user int64
	id   uint64 // equals presence.leaveID while still pending
	due  time.Time
}

// graces is a room's pending leaves, oldest first, and their timer.
type graces struct {
	leaving   []pendingLeave
	lastLeave uint64 // ids of pending leaves, so that a cancelled one is told from a new one
	timer     *time.Timer
}

// userJoined counts a socket of u; its first socket announces a join
// unless the user was still online within the grace.
func (r *room) userJoined(u *pb.Sender) {
	p := r.online[u.UserId]
	if p == nil {
		p = &presence{nickname: u.Nickname}
		r.online[u.UserId] = p
		r.changed()
		if !r.onlineElsewhere(u.UserId) {
			r.broadcast(PresenceFrame(true, p.nickname), nil)
		}
		r.publish(&pb.RoomEvent{Up: []*pb.Online{{User: u.UserId, Nickname: p.nickname}}})
	}
	p.sockets++
	p.leaveID = 0 // back within the grace: the queued leave no longer applies
}

// userLeft uncounts a socket of user; the last one queues the leave.
func (r *room) userLeft(ctx actor.Context, user int64) {
	p := r.online[user]
	if p == nil {
		return
	}
	if p.sockets--; p.sockets > 0 {
		return
	}
	r.stopTyping(user, true)
	r.lastLeave++
	p.leaveID = r.lastLeave
	r.leaving = append(r.leaving, pendingLeave{user: user, id: p.leaveID, due: time.Now().Add(r.e.cfg.PresenceGrace)})
	if len(r.leaving) == 1 {
		r.armGrace(ctx, r.e.cfg.PresenceGrace)
	}
}

// onPresenceTick announces every leave that fell due and was not
// cancelled by a return, then waits for the next one.
func (r *room) onPresenceTick(ctx actor.Context) {
	r.graces.timer = nil
	now := time.Now()
	n := 0
	for ; n < len(r.leaving) && !r.leaving[n].due.After(now); n++ {
		l := r.leaving[n]
		if p := r.online[l.user]; p != nil && p.sockets == 0 && p.leaveID == l.id {
			delete(r.online, l.user)
			r.changed()
			if !r.onlineElsewhere(l.user) {
				r.broadcast(PresenceFrame(false, p.nickname), nil)
			}
			r.publish(&pb.RoomEvent{Down: []int64{l.user}})
		}
	}
	r.leaving = append(r.leaving[:0], r.leaving[n:]...)
	if len(r.leaving) > 0 {
		r.armGrace(ctx, r.leaving[0].due.Sub(now))
	}
}

func (r *room) armGrace(ctx actor.Context, d time.Duration) {
	self, root := ctx.Self(), r.e.root
	r.graces.timer = time.AfterFunc(d, func() { root.Send(self, &presenceTick{}) })
}

func (r *room) stopGrace() {
	if r.graces.timer != nil {
		r.graces.timer.Stop()
	}
}
