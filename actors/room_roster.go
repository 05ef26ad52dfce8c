package actors

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// roster is a room's membership as its actor keeps it: the member ids in
// memory (loaded with the room), so that a post checks membership without
// reading the disk. Changes are written one at a time, off the actor's
// goroutine, and applied and announced when the write is done, so they
// are ordered with each other and with the room's messages.
type roster struct {
	info    *pspb.Room // kind and owner; never changes
	ids     map[int64]struct{}
	current *memberChange   // the change being written; nil when none
	joins   []*memberChange // joins by posting written with current
	queue   []*memberChange // changes waiting for current
	// joining holds the posts of users who join a public room by posting,
	// until their membership is stored and announced: chat.member.add
	// comes before their first chat.message.
	joining map[int64][]heldPost
}

// heldPost is a post waiting for its sender's membership.
type heldPost struct {
	post  *pb.Post
	quiet bool
	from  *actor.PID
}

func newRoster(info *pspb.Room, ids []int64) roster {
	rs := roster{info: info, ids: make(map[int64]struct{}, len(ids)), joining: map[int64][]heldPost{}}
	for _, id := range ids {
		rs.ids[id] = struct{}{}
	}
	return rs
}

func (rs *roster) kind() string { return persistence.RoomKind(rs.info) }

func (rs *roster) isMember(user int64) bool {
	_, ok := rs.ids[user]
	return ok
}

func (rs *roster) role(user int64) string { return RoleOf(rs.info, user, rs.isMember(user)) }

// visible reports whether user may see the room: it is public, or user is
// a member.
func (rs *roster) visible(user int64) bool {
	return rs.kind() == persistence.KindPublic || rs.isMember(user)
}

// mayPost reports whether user may post in the room now (or send it other
// frames, such as typing): anyone in a public room, where posting makes
// the poster a member, and members elsewhere.
func (rs *roster) mayPost(user int64) bool { return rs.visible(user) }

// changing reports membership work in progress, which keeps the room from
// passivating.
func (rs *roster) changing() bool {
	return rs.current != nil || len(rs.queue) > 0 || len(rs.joining) > 0
}

// onMemberChange queues a change behind the one being written.
func (r *room) onMemberChange(ctx actor.Context, c *memberChange) {
	r.queue = append(r.queue, c)
	r.nextChange(ctx)
}

// nextChange starts queued changes until one needs a write. Joins by
// posting queued together are written together: when many users post in
// a room for the first time at once, their posts wait for one write, not
// one each.
func (r *room) nextChange(ctx actor.Context) {
	for r.current == nil && len(r.queue) > 0 {
		c := r.popChange()
		if c.auto {
			r.current, r.joins = c, []*memberChange{c}
			for len(r.queue) > 0 && r.queue[0].auto {
				r.joins = append(r.joins, r.popChange())
			}
			go storeJoins(r.e, ctx.Self(), r.id, r.joins, r.nextSeq)
			return
		}
		if err := r.decide(c); err != nil {
			r.answerChange(ctx, c, memberResult{err: err})
			continue
		}
		r.current = c
		go storeChange(r.e, ctx.Self(), c, r.nextSeq)
	}
}

func (r *room) popChange() *memberChange {
	c := r.queue[0]
	r.queue[0] = nil
	r.queue = r.queue[1:]
	return c
}

// decide applies the room's rules to c, in the contract's order: not
// visible (404), then not allowed (403), then a target that is not a
// member (404, removals).
func (r *room) decide(c *memberChange) error {
	if !r.visible(c.by) {
		return ErrRoomNotFound
	}
	if c.add {
		return CheckAdd(r.info, r.role(c.by), c.by == c.user)
	}
	if !r.isMember(c.user) {
		return ErrNotMember
	}
	return CheckRemove(r.info, r.role(c.by), c.by == c.user)
}

// storeChange writes a membership change. It runs on a goroutine of its
// own and reports to the room.
func storeChange(e *Engine, room *actor.PID, c *memberChange, lastSeq int64) {
	st := &memberStored{change: c}
	defer func() { e.root.Send(room, st) }()
	if st.user, st.err = e.cfg.Store.UserByID(c.user); st.err != nil {
		if errors.Is(st.err, persistence.ErrNotFound) {
			st.err = ErrUserNotFound
		}
		return
	}
	if !c.add {
		st.err = e.cfg.Store.RemoveMember(c.room, c.user)
		if errors.Is(st.err, persistence.ErrNotFound) {
			st.err = ErrNotMember
		}
		return
	}
	m := &pspb.Member{Room: c.room, User: c.user, Role: persistence.RoleMember, JoinedAtUs: time.Now().UnixMicro(), LastReadSeq: lastSeq}
	st.member, st.added, st.err = e.cfg.Store.AddMember(m, e.cfg.MaxRoomMembers)
	if st.err == nil && st.added {
		// Before the room applies it: the room's inbox.message frames for
		// the new member follow this inbox.room.add.
		e.memberAdded(c.room, c.user)
	}
}

// joinsStored reports the end of a write of joins by posting.
type joinsStored struct {
	joins   []*memberChange
	users   []*pspb.User
	members []*pspb.Member
	added   []bool
	err     error
}

// storeJoins writes joins by posting in one transaction. It runs on a
// goroutine of its own and reports to the room.
func storeJoins(e *Engine, room *actor.PID, roomID int64, joins []*memberChange, lastSeq int64) {
	st := &joinsStored{joins: joins, users: make([]*pspb.User, len(joins)), members: make([]*pspb.Member, len(joins))}
	defer func() { e.root.Send(room, st) }()
	now := time.Now().UnixMicro()
	for i, c := range joins {
		if st.users[i], st.err = e.cfg.Store.UserByID(c.user); st.err != nil {
			return
		}
		st.members[i] = &pspb.Member{Room: roomID, User: c.user, Role: persistence.RoleMember, JoinedAtUs: now, LastReadSeq: lastSeq}
	}
	st.added, st.err = e.cfg.Store.AddMembers(roomID, st.members, e.cfg.MaxRoomMembers)
	if st.err != nil {
		return
	}
	for i, c := range joins {
		if st.added[i] {
			// As for any join: before the room lets the post go, so the
			// inbox.message of the post follows this inbox.room.add.
			e.memberAdded(roomID, c.user)
		}
	}
}

// onJoinsStored announces each join by posting, then lets its posts go.
func (r *room) onJoinsStored(ctx actor.Context, st *joinsStored) {
	if len(st.joins) == 0 || r.current != st.joins[0] {
		return
	}
	r.current, r.joins = nil, nil
	for i, c := range st.joins {
		res := memberResult{err: st.err}
		switch {
		case st.err != nil:
		case st.added[i]:
			r.ids[c.user] = struct{}{}
			frame := MemberAddFrame(r.id, st.users[i], st.members[i].Role, c.by)
			r.broadcastEvent(frame, EventMember, nil)
			r.publishFrame(frame, EventMember, false, 0)
		default:
			res.err = ErrRoomFull
		}
		r.answerChange(ctx, c, res)
	}
	r.nextChange(ctx)
}

// onMemberStored applies a written change, announces it, and answers it:
// membership frames go to the sockets that asked for them, and a user
// removed from a room that is not public loses its sockets on it.
func (r *room) onMemberStored(ctx actor.Context, st *memberStored) {
	c := st.change
	if r.current != c {
		return
	}
	r.current = nil
	if st.err == nil {
		switch {
		case c.add && st.added:
			r.ids[c.user] = struct{}{}
			frame := MemberAddFrame(r.id, st.user, st.member.Role, c.by)
			r.broadcastEvent(frame, EventMember, nil)
			r.publishFrame(frame, EventMember, false, 0)
		case !c.add:
			delete(r.ids, c.user)
			r.forgetReader(c.user)
			r.e.inboxes.send(c.user, InboxRoomRemoveFrame(r.id))
			frame := MemberRemoveFrame(r.id, st.user, c.by)
			r.broadcastEvent(frame, EventMember, nil)
			r.publishFrame(frame, EventMember, false, 0)
			if r.kind() != persistence.KindPublic {
				r.closeSocketsOf(ctx, c.user)
			}
		}
	}
	r.answerChange(ctx, c, memberResult{member: st.member, created: st.added, err: st.err})
	r.nextChange(ctx)
}

// closeSocketsOf closes every socket user has in the room with 4004. They
// leave the room at once, so nothing more of it reaches them.
func (r *room) closeSocketsOf(ctx actor.Context, user int64) {
	for i := 0; i < len(r.list); {
		m := r.list[i]
		if m.user.UserId != user {
			i++
			continue
		}
		r.remove(m.pid) // moves the last member to i
		r.userLeft(ctx, user)
		m.sink.Close(CloseRemoved, "removed from room")
	}
}

// answerChange answers an edge's request, or releases the posts that
// waited for a join by posting.
func (r *room) answerChange(ctx actor.Context, c *memberChange, res memberResult) {
	if !c.auto {
		c.reply <- res
		return
	}
	held := r.joining[c.user]
	delete(r.joining, c.user)
	for _, h := range held {
		// A full room still takes posts: the poster is just not a member.
		if res.err == nil || errors.Is(res.err, ErrRoomFull) {
			r.post(ctx, h.post, h.quiet, h.from, true)
		} else {
			r.reply(ctx, h.from, &pb.Posted{ErrorCode: writeCode(res.err)})
		}
	}
}

// holdPost keeps a post of a user who is not a member of this public room
// until posting has made them one.
func (r *room) holdPost(ctx actor.Context, h heldPost) {
	user := h.post.Sender.UserId
	held, joining := r.joining[user]
	r.joining[user] = append(held, h)
	if !joining {
		r.onMemberChange(ctx, &memberChange{room: r.id, by: user, user: user, add: true, auto: true})
	}
}

// stopRoster answers what waits for membership changes when the room stops.
func (r *room) stopRoster(ctx actor.Context) {
	fail := memberResult{err: ErrUnavailable}
	if r.current != nil && !r.current.auto {
		r.current.reply <- fail
	}
	for _, c := range r.joins {
		r.answerChange(ctx, c, fail)
	}
	for _, c := range r.queue {
		if !c.auto {
			c.reply <- fail
		}
	}
	for _, held := range r.joining {
		for _, h := range held {
			r.reply(ctx, h.from, &pb.Posted{ErrorCode: CodeUnavailable})
		}
	}
	r.current, r.joins, r.queue, r.joining = nil, nil, nil, nil
}
