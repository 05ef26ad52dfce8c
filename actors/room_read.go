package actors

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// readCoalesce is the shortest time between two applied marker writes of
// one user in one room: a burst of chat.read frames costs one write.
const readCoalesce = 250 * time.Millisecond

// reads is a room's read-marker state: the markers its members moved
// since the room started, the socket marks waiting for their turn, and
// the receipts not yet sent. Markers are not loaded with the room: the
// store keeps each one moving forward only, so the room needs only what
// moved here.
type reads struct {
	readers map[int64]*reader // members who marked or posted, by user id
	// receipts are the markers moved by a mark since the last receipt
	// frame, by user id.
	receipts     map[int64]int64
	receiptTimer *time.Timer
	lastReceipt  time.Time
	// busy counts marker writes in flight and coalesced marks waiting:
	// the room does not passivate before they are done.
	busy int
	// answering are the marker writes in flight that a request waits on
	// (a REST post, a REST mark): a room that stops before they are done
	// answers them itself.
	answering map[*markerStored]struct{}
}

// reader is one member's read marker, as far as this room knows it.
type reader struct {
	marker int64 // the highest marker applied here (stored or being stored)
	queued int64 // a socket mark waiting for its turn; 0 when none
	armed  bool  // a timer will apply queued
	wrote  time.Time
}

func newReads() reads {
	return reads{readers: make(map[int64]*reader), receipts: make(map[int64]int64)}
}

// reader returns user's marker state, nil when user is not a member.
func (r *room) reader(user int64) *reader {
	if !r.isMember(user) {
		return nil
	}
	rd := r.readers[user]
	if rd == nil {
		rd = &reader{}
		r.readers[user] = rd
	}
	return rd
}

// forgetReader drops the marker state of a user who stopped being a member.
func (r *room) forgetReader(user int64) {
	delete(r.readers, user)
	delete(r.receipts, user)
}

// socketRead is a chat.read frame from a session of the room.
type socketRead struct{ room, seq int64 }

// readRefused answers a session's chat.read that the room refused.
type readRefused struct{ errorType, message string }

// markRead moves a member's marker for the REST API, answered with
// readMarked once durable. all marks every delivered message read.
type markRead struct {
	room, user, seq int64
	all             bool
}

// readMarked is the answer to markRead: the marker after the call, or an
// error code.
type readMarked struct {
	seq  int64
	code string
}

// readFlush applies a user's queued socket mark.
type readFlush struct{ user int64 }

// receiptTick sends the receipts gathered since the last frame.
type receiptTick struct{}

// markerStored reports a marker write. A write caused by a post carries
// the post's answer, which waits for it.
type markerStored struct {
	user, stored int64
	moved        bool // the write raised the stored marker
	err          error
	byPost       bool
	replyTo      *actor.PID
	posted       *pb.Posted
}

// MarkRead moves user's read marker in room to seq (all: to the room's
// last message) and returns the marker once it is durable. It fails with
// ErrNotMember when the user is not a member.
func (e *Engine) MarkRead(room, user, seq int64, all bool) (int64, error) {
	res, err := e.request(e.hub, &markRead{room: room, user: user, seq: seq, all: all})
	if err != nil {
		return 0, err
	}
	m, ok := res.(*readMarked)
	if !ok {
		return 0, ErrUnavailable
	}
	if m.code == CodeForbidden {
		return 0, ErrNotMember
	}
	return m.seq, codeError(m.code)
}

// onSocketRead applies a session's chat.read, coalesced: a user's marks
// are applied at most once per readCoalesce, the highest one winning.
func (r *room) onSocketRead(ctx actor.Context, m *socketRead) {
	i, ok := r.index[ctx.Sender().Id]
	if !ok {
		return
	}
	user := r.list[i].user.UserId
	rd := r.reader(user)
	switch {
	case rd == nil:
		ctx.Respond(&readRefused{ErrorForbidden, "you are not a member of this room"})
		return
	case m.seq > r.delivered:
		ctx.Respond(&readRefused{ErrorInvalid, "seq is beyond the room's last message"})
		return
	case m.seq <= rd.marker || m.seq <= rd.queued:
		return
	}
	rd.queued = m.seq
	if rd.armed {
		return
	}
	wait := readCoalesce - time.Since(rd.wrote)
	if wait <= 0 {
		r.applyQueued(ctx, user, rd)
		return
	}
	rd.armed = true
	r.busy++
	self, root := ctx.Self(), r.e.root
	time.AfterFunc(wait, func() { root.Send(self, &readFlush{user: user}) })
}

func (r *room) onReadFlush(ctx actor.Context, f *readFlush) {
	r.busy--
	if rd := r.readers[f.user]; rd != nil && rd.armed {
		rd.armed = false
		r.applyQueued(ctx, f.user, rd)
	}
}

// applyQueued writes a user's queued mark.
func (r *room) applyQueued(ctx actor.Context, user int64, rd *reader) {
	seq := rd.queued
	rd.queued = 0
	if seq <= rd.marker {
		return
	}
	rd.marker, rd.wrote = seq, time.Now()
	r.writeMarker(ctx, &markerStored{user: user}, seq, false)
}

// onMarkRead applies a REST mark at once: it is answered once durable.
func (r *room) onMarkRead(ctx actor.Context, m *markRead) {
	rd := r.reader(m.user)
	if rd == nil {
		ctx.Respond(&readMarked{code: CodeForbidden})
		return
	}
	seq := m.seq
	if m.all {
		seq = r.delivered
	}
	// Written even when it does not move: the answer must not come before
	// an earlier write of the marker it reports is durable.
	rd.marker, rd.wrote = max(rd.marker, seq), time.Now()
	r.writeMarker(ctx, &markerStored{user: m.user, replyTo: ctx.Sender()}, rd.marker, false)
}

// movePosterMarker moves a poster's marker to their message: writing in a
// room counts as having read it. posted, when set, is the post's answer,
// sent once the marker is durable; it reports whether it took the answer.
func (r *room) movePosterMarker(ctx actor.Context, msg *pspb.Message, replyTo *actor.PID, posted *pb.Posted) bool {
	rd := r.reader(msg.SenderId)
	if rd == nil || rd.marker >= msg.Seq {
		return false
	}
	rd.marker = msg.Seq
	// A socket post's move is lazy: nothing waits for it, and it shares a
	// transaction with other moves. A REST post is answered once its move
	// is durable, so that the poster's next read shows the room read.
	r.writeMarker(ctx, &markerStored{user: msg.SenderId, byPost: true, replyTo: replyTo, posted: posted}, msg.Seq, replyTo == nil)
	return replyTo != nil
}

// writeMarker hands a marker move to the marker writer; done comes back as
// a message to the room.
func (r *room) writeMarker(ctx actor.Context, done *markerStored, seq int64, lazy bool) {
	r.busy++
	if done.replyTo != nil {
		if r.answering == nil {
			r.answering = make(map[*markerStored]struct{})
		}
		r.answering[done] = struct{}{}
	}
	self, root := ctx.Self(), r.e.root
	r.e.markers.move(persistence.ReadMarker{Room: r.id, User: done.user, Seq: seq, ByPost: done.byPost}, lazy, func(mv persistence.ReadMarker, err error) {
		done.stored, done.moved, done.err = mv.Seq, mv.Moved, err
		root.Send(self, done)
	})
}

// onMarkerStored answers and announces a durable marker: a receipt in the
// next chat.read frame and inbox.read to the user's inbox sockets, unless
// the move came from a post (the chat.message says it).
func (r *room) onMarkerStored(ctx actor.Context, m *markerStored) {
	r.busy--
	delete(r.answering, m)
	switch {
	case m.posted != nil:
		r.reply(ctx, m.replyTo, m.posted)
	case m.replyTo != nil && m.err != nil:
		r.reply(ctx, m.replyTo, &readMarked{code: writeCode(m.err)})
	case m.replyTo != nil && m.stored < 0:
		r.reply(ctx, m.replyTo, &readMarked{code: CodeForbidden})
	case m.replyTo != nil:
		r.reply(ctx, m.replyTo, &readMarked{seq: m.stored})
	}
	if m.err != nil {
		r.e.log.Error("room: read marker write failed", "room", r.id, "user", m.user, "err", m.err)
		return
	}
	if !m.moved || m.byPost || !r.isMember(m.user) {
		return
	}
	r.receipts[m.user] = m.stored
	r.scheduleReceipts(ctx)
	if r.e.inboxes.lookup(m.user) != nil {
		// The count walks the room's deleted messages above the marker:
		// here, it delays this room only.
		unread := max(r.delivered-m.stored-deletedAfter(r.e.cfg.Store, r.id, m.stored), 0)
		r.e.inboxes.send(m.user, InboxReadFrame(r.id, m.stored, unread))
	}
}

// markerApplied is a user's marker moved through another node (see
// logObserver.MarkersMoved).
type markerApplied struct{ user, seq int64 }

// onMarkerApplied brings the room's view of a marker moved through
// another node up to date and tells the user's inbox sockets here; the
// receipt came on the bus from the node that stored it.
func (r *room) onMarkerApplied(m *markerApplied) {
	if rd := r.reader(m.user); rd != nil {
		rd.marker = max(rd.marker, m.seq)
	}
	unread := max(r.delivered-m.seq-deletedAfter(r.e.cfg.Store, r.id, m.seq), 0)
	r.e.inboxes.send(m.user, InboxReadFrame(r.id, m.seq, unread))
}

// scheduleReceipts sends the receipts now if the last frame is older than
// the receipt interval, else when it will be.
func (r *room) scheduleReceipts(ctx actor.Context) {
	if r.receiptTimer != nil {
		return
	}
	wait := r.e.cfg.ReceiptInterval - time.Since(r.lastReceipt)
	if wait <= 0 {
		r.sendReceipts()
		return
	}
	self, root := ctx.Self(), r.e.root
	r.receiptTimer = time.AfterFunc(wait, func() { root.Send(self, &receiptTick{}) })
}

func (r *room) onReceiptTick() {
	r.receiptTimer = nil
	r.sendReceipts()
}

// sendReceipts encodes the gathered receipts once and sends the same bytes
// to every socket of the room that asked for them.
func (r *room) sendReceipts() {
	if len(r.receipts) == 0 {
		return
	}
	reads := make([]Receipt, 0, len(r.receipts))
	for u, s := range r.receipts {
		reads = append(reads, Receipt{User: u, Seq: s})
	}
	slices.SortFunc(reads, func(a, b Receipt) int { return int(a.User - b.User) })
	clear(r.receipts)
	r.lastReceipt = time.Now()
	frame := ReceiptFrame(r.id, reads)
	r.broadcastDroppable(frame, EventRead)
	r.publishFrame(frame, EventRead, true, 0)
}

// sendInboxMessage hands a new message's inbox.message to every member
// with an inbox socket open, encoded once and only if someone has one.
func (r *room) sendInboxMessage(msg *pspb.Message) {
	var frame []byte
	for user := range r.ids {
		u := r.e.inboxes.lookup(user)
		if u == nil {
			continue
		}
		if frame == nil {
			frame = InboxMessageFrame(msg)
		}
		u.send(frame)
	}
}

// readsIdle reports that no marker write or coalesced mark is pending.
func (r *room) readsIdle() bool { return r.busy == 0 }

// stopReads sends what waits when the room stops: receipts are dropped
// (their sockets are closed), queued marks are written.
func (r *room) stopReads(ctx actor.Context) {
	if r.receiptTimer != nil {
		r.receiptTimer.Stop()
	}
	// What waits on a marker write gets its answer now: the room's
	// mailbox, where the write's confirmation would come, goes with it. A
	// post is stored (its move only follows it); a mark may not be.
	for m := range r.answering {
		if m.posted != nil {
			r.reply(ctx, m.replyTo, m.posted)
		} else {
			r.reply(ctx, m.replyTo, &readMarked{code: CodeUnavailable})
		}
	}
	r.answering = nil
	for user, rd := range r.readers {
		if rd.queued > rd.marker {
			rd.marker = rd.queued
			r.e.markers.move(persistence.ReadMarker{Room: r.id, User: user, Seq: rd.queued}, false, func(persistence.ReadMarker, error) {})
		}
	}
}
