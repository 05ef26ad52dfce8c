package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Typing indicators. They are ephemeral: never stored, never replayed, and
// sent only to sockets that asked for events=typing. The state is per user,
// whichever of the user's sockets sent the frame, and no socket of the
// typing user receives it.
//
// A user who starts typing is announced at once and expires
// Config.TypingTimeout later unless refreshed. A refresh moves the expiry
// and is announced again only typingReannounce after the last
// announcement, so a client refreshing every second costs one frame per
// two seconds. The indicator ends with a typing:false on an explicit stop,
// on expiry and when the user's last socket in the room closes; a message
// from the user ends it silently (receivers clear it on the chat.message),
// so that the next start is announced at once.
//
// Every expiry is set to now + TypingTimeout, so a timer armed for an
// earlier expiry never fires after a later one is due: one timer per room,
// armed while anyone types, serves them all. It sends typingTick to the
// room rather than touching it.

// typingReannounce is how long after an announcement a refresh is
// announced again (PROTOCOL-ROOMS.md §3): receivers that missed the first
// frame, or joined since, learn of the typist within two seconds.
const typingReannounce = 2 * time.Second

// typingTick asks a room to end the indicators whose expiry has passed.
type typingTick struct{}

// typist is a user typing in a room.
type typist struct {
	nickname  string
	expires   time.Time
	announced time.Time // when the last typing:true was sent
}

// typists is a room's typing users and their expiry timer.
type typists struct {
	typing      map[int64]*typist // made on first use
	typingTimer *time.Timer       // armed while typing is not empty
}

// mayType reports whether user may send typing indicators in this room:
// whoever may post there.
func (r *room) mayType(userID int64) bool { return r.mayPost(userID) }

// onTyping applies a chat.typing frame from a member's socket.
func (r *room) onTyping(ctx actor.Context, t *socketTyping) {
	i, ok := r.index[ctx.Sender().Id]
	if !ok {
		return // the socket has left: nothing of it counts any more
	}
	uid := t.user.UserId
	if !r.mayType(uid) {
		r.list[i].sink.Send(ErrorFrame(ErrorForbidden, "you may not post in this room"))
		return
	}
	if !t.typing {
		r.stopTyping(uid, true)
		return
	}
	now := time.Now()
	ty := r.typing[uid]
	if ty == nil {
		if r.typing == nil {
			r.typing = make(map[int64]*typist)
		}
		ty = &typist{nickname: t.user.Nickname}
		r.typing[uid] = ty
	}
	ty.expires = now.Add(r.e.cfg.TypingTimeout)
	if r.typingTimer == nil {
		r.armTyping(ctx, r.e.cfg.TypingTimeout)
	}
	if !ty.announced.IsZero() && now.Sub(ty.announced) < typingReannounce {
		return
	}
	ty.announced = now
	r.broadcastTyping(TypingFrame(r.id, uid, ty.nickname, true, r.e.cfg.TypingTimeout.Milliseconds()), uid)
}

// stopTyping ends user's indicator, announcing typing:false when announce
// is set (not after a message, whose chat.message says it).
func (r *room) stopTyping(user int64, announce bool) {
	ty := r.typing[user]
	if ty == nil {
		return
	}
	delete(r.typing, user)
	if announce {
		r.broadcastTyping(TypingFrame(r.id, user, ty.nickname, false, 0), user)
	}
}

// onTypingTick ends every indicator whose expiry passed, then waits for
// the next one.
func (r *room) onTypingTick(ctx actor.Context) {
	r.typingTimer = nil
	now := time.Now()
	var next time.Time
	for uid, ty := range r.typing {
		if !ty.expires.After(now) {
			r.stopTyping(uid, true)
			continue
		}
		if next.IsZero() || ty.expires.Before(next) {
			next = ty.expires
		}
	}
	if !next.IsZero() {
		r.armTyping(ctx, next.Sub(now))
	}
}

// broadcastTyping hands frame to every socket that asked for typing
// frames, except the typing user's own. A socket catching up on a backlog,
// or with half its outbound limit unsent, goes without: the indicator is
// ephemeral and receivers expire it by themselves.
func (r *room) broadcastTyping(frame []byte, user int64) {
	r.publishFrame(frame, EventTyping, true, user)
	for _, m := range r.list {
		if m.user.UserId != user && m.events.Has(EventTyping) && !m.catchingUp {
			m.sink.SendDroppable(frame)
		}
	}
}

func (r *room) armTyping(ctx actor.Context, d time.Duration) {
	self, root := ctx.Self(), r.e.root
	r.typingTimer = time.AfterFunc(d, func() { root.Send(self, &typingTick{}) })
}

func (r *room) stopTypingTimer() {
	if r.typingTimer != nil {
		r.typingTimer.Stop()
	}
}
