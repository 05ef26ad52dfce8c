package actors

import (
	"errors"
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// Cluster mode. The store is a replica of the cluster's log: a room does
// not number its messages, it proposes them to the log, whose apply gives
// each its id, seq and rev identically on every node, and finds client_id
// resends from any node. Every node's room delivers what its node applies,
// its own posts and other nodes' alike, in log order, so sockets on
// different nodes see one seq order however many nodes serve the room.
// The poster is answered from the apply's outcome.

// applied carries records the node applied to the room's log.
type applied struct{ recs []persistence.AppliedRecord }

// proposed is the outcome of the room's command in flight: what applying
// each of its records decided, or the error that refused them all.
type proposed struct {
	recs []persistence.AppliedRecord
	err  error
}

// membersApplied says the node applied a membership change of the room.
type membersApplied struct{}

// logCatchUp makes a room that just started deliver what the node applied
// while it was loading.
type logCatchUp struct{ rev int64 }

// logObserver hands what the node applies to the rooms running on it.
type logObserver struct{ e *Engine }

// RecordsApplied implements persistence.LogObserver. The applying
// goroutine sends every room's records in log order to its mailbox; a
// room that is not running reads them from the store when it starts, but
// its members' inbox sockets on this node still hear of new messages.
func (o logObserver) RecordsApplied(room int64, recs []persistence.AppliedRecord) {
	if pid := o.e.running(room); pid != nil {
		o.e.root.Send(pid, &applied{recs: recs})
		return
	}
	o.e.inboxApplied(room, recs)
}

// MembersChanged implements persistence.LogObserver.
func (o logObserver) MembersChanged(room int64) {
	if pid := o.e.running(room); pid != nil {
		o.e.root.Send(pid, &membersApplied{})
	}
}

// UserChanged implements persistence.LogObserver: an account changed
// through any node hides or shows its email in what this node renders
// from now on.
func (o logObserver) UserChanged(u *pspb.User) {
	hide := u.HideEmail
	if err := o.e.senders.set(u.Id, func() (bool, error) { return hide, nil }); err != nil {
		o.e.log.Error("senders: apply a profile change", "user", u.Id, "err", err)
	}
}

// MembershipsChanged implements persistence.LogObserver: another node
// stored memberships, which that node announced to its own inbox sockets;
// this node announces them to the users' inbox sockets here. A room
// running here announces an ending itself (onMembersApplied).
func (o logObserver) MembershipsChanged(room int64, began, ended []int64) {
	e := o.e
	for _, user := range began {
		if e.inboxes.lookup(user) != nil {
			// The edge renders the room as the user sees it, reading the
			// store: off the goroutine that applies the log.
			go e.memberAdded(room, user)
		}
	}
	if len(ended) == 0 || e.running(room) != nil {
		return
	}
	for _, user := range ended {
		e.inboxes.send(user, InboxRoomRemoveFrame(room))
	}
}

// MarkersMoved implements persistence.LogObserver: markers moved through
// another node reach the users' inbox sockets here as inbox.read (a move
// by the user's own post is not announced, as on the node that stored
// it). A room running here sends it in its order, after the messages it
// delivered; otherwise the unread count is read from the store, which
// holds the log up to this marker.
func (o logObserver) MarkersMoved(moves []persistence.ReadMarker) {
	e := o.e
	for _, mv := range moves {
		if !mv.Moved || mv.ByPost || mv.Seq < 0 || e.inboxes.lookup(mv.User) == nil {
			continue
		}
		if pid := e.running(mv.Room); pid != nil {
			e.root.Send(pid, &markerApplied{user: mv.User, seq: mv.Seq})
			continue
		}
		var last int64
		if m, err := e.cfg.Store.LastMessage(mv.Room); err == nil && m != nil {
			last = m.Seq
		}
		e.inboxes.send(mv.User, InboxReadFrame(mv.Room, mv.Seq, UnreadCount(e.cfg.Store, mv.Room, last, mv.Seq)))
	}
}

// inboxApplied sends inbox.message frames for new messages of a room not
// running on this node to its members' inbox sockets here.
func (e *Engine) inboxApplied(room int64, recs []persistence.AppliedRecord) {
	if e.inboxes.empty() {
		return
	}
	ids, err := e.cfg.Store.MemberIDs(room)
	if err != nil {
		e.log.Error("room: members for inbox", "room", room, "err", err)
		return
	}
	for _, rec := range recs {
		if rec.Change != persistence.Created || rec.Duplicate {
			continue
		}
		var frame []byte
		for _, user := range ids {
			if u := e.inboxes.lookup(user); u != nil {
				if frame == nil {
					frame = InboxMessageFrame(rec.Message)
				}
				u.send(frame)
			}
		}
	}
}

// propose hands a post to the cluster's log.
func (r *room) propose(ctx actor.Context, p *pb.Post, quiet bool, from *actor.PID) {
	m := &pspb.Message{
		Room:           r.id,
		SenderId:       p.Sender.UserId,
		SenderEmail:    p.Sender.Email,
		Nickname:       p.Sender.Nickname,
		ProfilePicture: p.Sender.ProfilePicture,
		Text:           p.Text,
		ClientId:       p.ClientId,
		CreatedAtUs:    time.Now().UnixMicro(),
	}
	r.proposeRecord(ctx, &pendingPost{msg: m, replyTo: from, quiet: quiet})
}

// logQueue keeps a room's proposals in the order the room made them. One
// command is in flight at a time, so the log holds a socket's messages in
// the order it sent them whatever the log's retries do; what queues while
// it flies goes next as one command (posts together, each change alone:
// a change can be refused, and a refusal refuses its whole command).
type logQueue struct {
	waiting []*pendingPost
	flying  []*pendingPost // the command in flight, nil when none
	// landed closes when the command in flight has its outcome. A room
	// that stops leaves it to the hub, which loads the room again only
	// after it closes: a new room's commands must not overtake the
	// stopped room's last one in the log.
	landed chan struct{}
}

// Bounds of one command of posts.
const (
	maxLogBatch      = 256
	maxLogBatchBytes = 1 << 20
)

// queued reports proposals waiting or in flight.
func (q *logQueue) queued() int { return len(q.waiting) + len(q.flying) }

// next takes the next command's proposals off the queue.
func (q *logQueue) next() []*pendingPost {
	n, size := 0, 0
	for n < len(q.waiting) && n < maxLogBatch {
		p := q.waiting[n]
		if p.change != persistence.Created {
			if n == 0 {
				n = 1
			}
			break
		}
		if size += len(p.msg.Text); n > 0 && size > maxLogBatchBytes {
			break
		}
		n++
	}
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	if len(q.waiting) == 0 {
		q.waiting = nil // the backing array goes with the batch
	}
	return batch
}

// proposeRecord queues one record for the log; its outcome comes back as
// proposed.
func (r *room) proposeRecord(ctx actor.Context, p *pendingPost) {
	r.proposals.waiting = append(r.proposals.waiting, p)
	if r.proposals.flying == nil {
		r.flushLog(ctx)
	}
}

// flushLog sends the next command to the log.
func (r *room) flushLog(ctx actor.Context) {
	batch := r.proposals.next()
	if len(batch) == 0 {
		return
	}
	r.proposals.flying = batch
	recs := make([]persistence.Record, len(batch))
	for i, p := range batch {
		recs[i] = persistence.Record{Change: p.change, Message: p.msg}
	}
	self, root, landed := ctx.Self(), r.e.root, make(chan struct{})
	r.proposals.landed = landed
	r.e.cfg.Store.ProposeRecords(recs, func(a []persistence.AppliedRecord, err error) {
		close(landed)
		root.Send(self, &proposed{recs: a, err: err})
	})
}

// dropProposals answers, as the room stops, every proposal it has not
// had an outcome for: unavailable, to be retried (a client_id finds the
// message if the command in flight lands after all). The command in
// flight is left to the hub (logQueue.landed).
func (r *room) dropProposals(ctx actor.Context) {
	q := &r.proposals
	if q.flying != nil {
		r.e.landing.Store(r.id, q.landed)
	}
	for _, p := range append(q.flying, q.waiting...) {
		r.fail(ctx, p, CodeUnavailable)
	}
	q.flying, q.waiting, q.landed = nil, nil, nil
}

// logLanded calls f once the last command of a room that stopped has its
// outcome, at once when it had none in flight.
func (e *Engine) logLanded(room int64, f func()) {
	v, ok := e.landing.LoadAndDelete(room)
	if !ok {
		f()
		return
	}
	go func() {
		<-v.(chan struct{})
		f()
	}()
}

// onProposed answers the command in flight from its outcome and sends the
// next. Its records reach the room's sockets through onApplied, like
// every other node's.
func (r *room) onProposed(ctx actor.Context, d *proposed) {
	batch := r.proposals.flying
	r.proposals.flying = nil
	for i, p := range batch {
		if d.err != nil {
			r.proposalFailed(ctx, p, d.err)
		} else {
			r.proposalApplied(ctx, p, d.recs[i])
		}
	}
	r.flushLog(ctx)
}

// proposalFailed answers a proposal the log did not take.
func (r *room) proposalFailed(ctx actor.Context, p *pendingPost, err error) {
	r.e.log.Warn("room: append through the log failed", "room", r.id, "err", err)
	code := writeCode(err)
	switch {
	case errors.Is(err, persistence.ErrMessageDeleted):
		code = CodeDeleted
	case errors.Is(err, persistence.ErrNotFound):
		code = CodeNotFound
	}
	r.fail(ctx, p, code)
}

// proposalApplied answers a proposal from what applying it decided.
func (r *room) proposalApplied(ctx actor.Context, p *pendingPost, rec persistence.AppliedRecord) {
	m := rec.Message
	switch {
	case p.change != persistence.Created:
		r.reply(ctx, p.replyTo, &pb.MessageChanged{Message: m})
	case rec.Duplicate:
		r.reply(ctx, p.replyTo, &pb.Posted{Message: m, Duplicate: true})
	case p.quiet:
		r.e.stats.acceptedSocket.Add(1)
		r.movePosterMarker(ctx, m, nil, nil)
	default:
		if !r.movePosterMarker(ctx, m, p.replyTo, &pb.Posted{Message: m}) {
			r.reply(ctx, p.replyTo, &pb.Posted{Message: m})
		}
	}
}

// onApplied delivers records the node applied, in log order.
func (r *room) onApplied(ctx actor.Context, a *applied) {
	for _, rec := range a.recs {
		switch {
		case rec.Duplicate:
		case rec.Change == persistence.Created:
			if !r.deliverApplied(ctx, rec.Message) {
				return
			}
		default:
			r.changeApplied(rec.Message)
		}
	}
}

// deliverApplied delivers a new message the log applied, after any the
// room missed while it loaded. It reports false when the room had to stop.
func (r *room) deliverApplied(ctx actor.Context, m *pspb.Message) bool {
	if m.Seq <= r.delivered {
		return true
	}
	if m.Seq > r.delivered+1 && !r.catchUp(ctx, m.Seq-1) {
		return false
	}
	senders := r.e.senders.load()
	frame := MessageFrame(m, senders)
	r.nextSeq, r.delivered = m.Seq, m.Seq
	r.rev, r.durableRev = max(r.rev, m.Rev), max(r.durableRev, m.Rev)
	r.remember(m, frame, senders.Gen())
	if m.ClientId != "" {
		r.clientIDs[clientKey{m.SenderId, m.ClientId}] = m.Seq
	}
	r.broadcastMessage(frame, nil, m.Seq)
	if m.Seq > r.inboxTold {
		r.sendInboxMessage(m)
	}
	r.stopTyping(m.SenderId, false)
	return true
}

// catchUp delivers, from the store, the messages after the last delivered
// up to seq upTo: those applied before the room registered for them.
func (r *room) catchUp(ctx actor.Context, upTo int64) bool {
	for r.delivered < upTo {
		msgs, err := r.e.cfg.Store.MessagesAfter(r.id, r.delivered, int(min(upTo-r.delivered, 256)))
		if err == nil && len(msgs) == 0 {
			err = persistence.ErrNotFound
		}
		if err != nil {
			r.e.log.Error("room: catch up with the log", "room", r.id, "after", r.delivered, "err", err)
			ctx.Stop(ctx.Self())
			return false
		}
		for _, m := range msgs {
			if m.Seq > upTo {
				break
			}
			r.deliverApplied(ctx, m)
		}
	}
	return true
}

// changeApplied delivers an edit or a deletion the log applied.
func (r *room) changeApplied(m *pspb.Message) {
	r.rev, r.durableRev = max(r.rev, m.Rev), max(r.durableRev, m.Rev)
	if rc, ok := r.recent.find(m.Seq); ok && rc.msg.Rev >= m.Rev {
		return // the ring already shows it, or a later change
	}
	senders := r.e.senders.load()
	if r.recent.replace(recent{msg: m, frame: MessageFrame(m, senders), senders: senders.Gen()}) {
		r.changed()
	}
	r.broadcastEvent(ChangeFrame(m), EventEdit, nil)
}

// joinLog publishes the room: from then on the node's log observer hands
// it what the node applies. Until then the observer announced the room's
// new messages to inbox sockets itself; the room reads how far in the same
// step, so it neither repeats those announcements nor misses later ones.
// What the node applied while the room loaded is read back next.
func (r *room) joinLog(ctx actor.Context) {
	store := r.e.cfg.Store
	var err error
	store.BetweenApplies(func() {
		r.e.states.Store(r.id, r.view)
		r.inboxTold, err = store.LastSeq(r.id)
	})
	if err != nil {
		r.e.log.Error("room: join the log", "room", r.id, "err", err)
		r.inboxTold = r.delivered
	}
	ctx.Send(ctx.Self(), &logCatchUp{rev: r.durableRev})
}

// leaveLog unpublishes the stopping room: from then on the observer
// announces its new messages to inbox sockets itself. Those it handed to
// the room that the room did not deliver (still in its mailbox) are
// announced here, read from the store.
func (r *room) leaveLog() {
	store := r.e.cfg.Store
	var last int64
	var err error
	store.BetweenApplies(func() {
		r.e.states.CompareAndDelete(r.id, r.view)
		last, err = store.LastSeq(r.id)
	})
	for from := max(r.delivered, r.inboxTold); err == nil && from < last; {
		var msgs []*pspb.Message
		msgs, err = store.MessagesAfter(r.id, from, int(min(last-from, 256)))
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if m.Seq <= last {
				r.sendInboxMessage(m)
			}
			from = m.Seq
		}
	}
	if err != nil {
		r.e.log.Error("room: announce what it did not deliver", "room", r.id, "err", err)
	}
}

// onLogCatchUp delivers what the node applied to the room between its
// load and its registration: new messages, and changes since rev.
func (r *room) onLogCatchUp(ctx actor.Context, c *logCatchUp) {
	last, err := r.e.cfg.Store.LastSeq(r.id)
	if err == nil && last > r.delivered && !r.catchUp(ctx, last) {
		return
	}
	var changes []*pspb.Message
	if err == nil {
		changes, err = r.e.cfg.Store.ChangesAfter(r.id, c.rev, math.MaxInt64, r.delivered, 1000)
	}
	if err != nil {
		r.e.log.Error("room: catch up with the log", "room", r.id, "err", err)
		ctx.Stop(ctx.Self())
		return
	}
	for _, m := range changes {
		r.changeApplied(m)
	}
}

// onMembersApplied reloads the room's members after the node applied a
// change to them; a member removed through another node loses its
// sockets here, as through this one.
func (r *room) onMembersApplied(ctx actor.Context) {
	ids, err := r.e.cfg.Store.MemberIDs(r.id)
	if err != nil {
		r.e.log.Error("room: reload members", "room", r.id, "err", err)
		return
	}
	now := make(map[int64]struct{}, len(ids))
	for _, id := range ids {
		now[id] = struct{}{}
	}
	for id := range r.ids {
		if _, ok := now[id]; ok || (r.current != nil && r.current.user == id) {
			continue // a change of this node's announces itself (onMemberStored)
		}
		r.forgetReader(id)
		r.e.inboxes.send(id, InboxRoomRemoveFrame(r.id))
		if r.kind() != persistence.KindPublic {
			r.closeSocketsOf(ctx, id)
		}
	}
	r.ids = now
}
