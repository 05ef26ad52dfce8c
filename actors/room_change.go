package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// edits is what a room knows of the messages being changed. A change is
// decided on the message's latest state: from memory when the room has it
// (a change not yet durable, a post not yet durable, the ring), otherwise
// read from the store off the actor. A read may miss a change that becomes
// durable while it is in flight, so confirmed changes stay in changed until
// no read is in flight.
type edits struct {
	latest map[int64]*changedMessage // seq → latest state
	loads  int                       // store reads in flight
}

type changedMessage struct {
	msg     *pspb.Message
	durable bool
}

func newEdits() edits { return edits{latest: make(map[int64]*changedMessage)} }

// latestState returns message seq's latest state if the room holds it.
func (r *room) latestState(seq int64) *pspb.Message {
	if c, ok := r.latest[seq]; ok {
		return c.msg
	}
	if seq > r.delivered {
		for _, p := range r.pending {
			if p.change == persistence.Created && p.msg.Seq == seq {
				return p.msg
			}
		}
	}
	if rc, ok := r.recent.find(seq); ok {
		return rc.msg
	}
	return nil
}

// onChange edits or deletes a message, reading it first if the room does
// not hold it.
func (r *room) onChange(ctx actor.Context, c *pb.ChangeMessage) {
	if c.Seq <= 0 || c.Seq > r.nextSeq {
		r.reply(ctx, ctx.Sender(), &pb.MessageChanged{ErrorCode: CodeNotFound})
		return
	}
	if m := r.latestState(c.Seq); m != nil {
		r.applyChange(ctx, c, m, ctx.Sender())
		return
	}
	r.loads++
	self, root, store, room, to := ctx.Self(), r.e.root, r.e.cfg.Store, r.id, ctx.Sender()
	go func() {
		m, err := store.Message(room, c.Seq)
		root.Send(self, &changeLoaded{req: c, replyTo: to, msg: m, err: err})
	}()
}

func (r *room) onChangeLoaded(ctx actor.Context, l *changeLoaded) {
	r.loads--
	defer r.sweepChanged()
	m := r.latestState(l.req.Seq)
	if m == nil {
		if l.err != nil {
			r.e.log.Error("room: read message to change", "room", r.id, "seq", l.req.Seq, "err", l.err)
			r.reply(ctx, l.replyTo, &pb.MessageChanged{ErrorCode: CodeUnavailable})
			return
		}
		m = l.msg
	}
	r.applyChange(ctx, l.req, m, l.replyTo)
}

// sweepChanged forgets confirmed changes once no read could have missed
// them.
func (r *room) sweepChanged() {
	if r.loads > 0 {
		return
	}
	for seq, c := range r.latest {
		if c.durable {
			delete(r.latest, seq)
		}
	}
}

// applyChange makes the change to cur, the message's latest state: it takes
// the next rev and goes to the writer like a post. An edit to the same text
// and the deletion of a tombstone change nothing; an edit of a tombstone is
// refused.
func (r *room) applyChange(ctx actor.Context, c *pb.ChangeMessage, cur *pspb.Message, to *actor.PID) {
	deleted := cur.DeletedAtUs != 0
	switch {
	case c.Delete && deleted, !c.Delete && !deleted && cur.Text == c.Text:
		r.reply(ctx, to, &pb.MessageChanged{Message: cur, Unchanged: true})
		return
	case deleted:
		r.reply(ctx, to, &pb.MessageChanged{ErrorCode: CodeDeleted})
		return
	}
	if err := r.e.cfg.Store.AdmitMessage(len(c.Text)); err != nil {
		r.reply(ctx, to, &pb.MessageChanged{ErrorCode: writeCode(err)})
		return
	}
	next := proto.Clone(cur).(*pspb.Message)
	change := persistence.Edited
	if c.Delete {
		change = persistence.Deleted
		next.Text = "" // erased, not hidden: the tombstone replaces it everywhere
		next.DeletedAtUs = time.Now().UnixMicro()
		next.DeletedBy = c.UserId
	} else {
		next.Text = c.Text
		next.EditedAtUs = time.Now().UnixMicro()
	}
	if r.e.replicated { // the log's apply takes the rev
		r.proposeRecord(ctx, &pendingPost{msg: next, change: change, replyTo: to})
		return
	}
	r.rev++
	next.Rev = r.rev
	r.latest[next.Seq] = &changedMessage{msg: next}
	r.pending = append(r.pending, &pendingPost{msg: next, change: change, replyTo: to})
	r.appendRecord(ctx, persistence.Record{Change: change, Message: next, PrevRev: cur.Rev})
}

// onChangeDurable delivers a durable change: the ring's frame of the
// message is replaced (so room details and reconnects show it as it now
// is), opted-in sockets get chat.message.update or chat.message.delete, and
// the editor its answer.
func (r *room) onChangeDurable(ctx actor.Context, p *pendingPost) {
	m := p.msg
	if c, ok := r.latest[m.Seq]; ok && c.msg == m {
		c.durable = true
		r.sweepChanged()
	}
	senders := r.e.senders.load()
	if r.recent.replace(recent{msg: m, frame: MessageFrame(m, senders), senders: senders.Gen()}) {
		r.changed()
	}
	r.broadcastEvent(ChangeFrame(m), EventEdit, nil)
	r.reply(ctx, p.replyTo, &pb.MessageChanged{Message: m})
}
