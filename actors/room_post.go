package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// onPost assigns the next seq and hands the message to the writer. Nothing
// is delivered until the writer confirms it durable (onPersisted), so a
// client never sees a message a crash could take back.
// A quiet post (a session's) is not answered once stored.
func (r *room) onPost(ctx actor.Context, p *pb.Post, quiet bool) {
	r.post(ctx, p, quiet, ctx.Sender(), false)
}

// post handles a post from `from`. Only members post in a private or
// direct room. In a public room, a post from a user who is not a member
// waits until posting has made them one (joined: that is done).
func (r *room) post(ctx actor.Context, p *pb.Post, quiet bool, from *actor.PID, joined bool) {
	if p.ClientId != "" {
		if seq, ok := r.clientIDs[clientKey{p.Sender.UserId, p.ClientId}]; ok {
			r.answerDuplicate(ctx, seq, from)
			return
		}
	}
	if !joined && !r.isMember(p.Sender.UserId) {
		if !r.mayPost(p.Sender.UserId) {
			r.reply(ctx, from, &pb.Posted{ErrorCode: CodeForbidden})
			return
		}
		r.holdPost(ctx, heldPost{post: p, quiet: quiet, from: from})
		return
	}
	if err := r.e.cfg.Store.AdmitMessage(len(p.Text) + len(p.ClientId)); err != nil {
		r.reply(ctx, from, &pb.Posted{ErrorCode: writeCode(err)})
		return
	}
	if r.e.replicated {
		r.propose(ctx, p, quiet, from)
		return
	}
	r.nextSeq++
	r.rev++
	m := &pspb.Message{
		Id:             r.e.cfg.Store.NextMessageID(),
		Room:           r.id,
		Seq:            r.nextSeq,
		SenderId:       p.Sender.UserId,
		SenderEmail:    p.Sender.Email,
		Nickname:       p.Sender.Nickname,
		ProfilePicture: p.Sender.ProfilePicture,
		Text:           p.Text,
		ClientId:       p.ClientId,
		CreatedAtUs:    time.Now().UnixMicro(),
		Rev:            r.rev,
		CreatedRev:     r.rev,
	}
	r.pending = append(r.pending, &pendingPost{msg: m, replyTo: from, quiet: quiet})
	if m.ClientId != "" {
		r.clientIDs[clientKey{m.SenderId, m.ClientId}] = m.Seq
	}
	r.appendRecord(ctx, persistence.Record{Message: m})
}

// appendRecord hands one record of the room's log to the writer; its
// confirmation comes back as persisted, in rev order.
func (r *room) appendRecord(ctx actor.Context, rec persistence.Record) {
	self, root, rev := ctx.Self(), r.e.root, rec.Message.Rev
	r.e.cfg.Writer.AppendRecords([]persistence.Record{rec}, func(err error) {
		root.Send(self, &persisted{rev: rev, err: err})
	})
}

// answerDuplicate answers a client_id resend with the original message, once
// it is durable.
func (r *room) answerDuplicate(ctx actor.Context, seq int64, to *actor.PID) {
	if seq > r.delivered {
		for _, p := range r.pending {
			if p.change == persistence.Created && p.msg.Seq == seq {
				p.dups = append(p.dups, to)
				return
			}
		}
	}
	if rc, ok := r.recent.find(seq); ok {
		r.reply(ctx, to, &pb.Posted{Message: rc.msg, Duplicate: true})
	}
}

// onPersisted delivers a durable record: for a new message, encode once,
// hand the same bytes to every member, then answer the poster. The writer
// confirms in append order, so p is always the oldest pending record.
func (r *room) onPersisted(ctx actor.Context, done *persisted) {
	if len(r.pending) == 0 || r.pending[0].msg.Rev != done.rev {
		r.e.log.Error("room: confirmation out of order", "room", r.id, "rev", done.rev)
		ctx.Stop(ctx.Self())
		return
	}
	p := r.pending[0]
	r.pending[0] = nil
	r.pending = r.pending[1:]
	if done.err != nil {
		// The store failed: answer, then restart from what is stored so seq
		// and rev stay gap-free.
		r.e.log.Error("room: write failed", "room", r.id, "rev", done.rev, "err", done.err)
		r.fail(ctx, p, writeCode(done.err))
		ctx.Stop(ctx.Self())
		return
	}
	r.durableRev = p.msg.Rev
	if p.change != persistence.Created {
		r.onChangeDurable(ctx, p)
		return
	}
	senders := r.e.senders.load()
	frame := MessageFrame(p.msg, senders)
	r.delivered = p.msg.Seq
	r.remember(p.msg, frame, senders.Gen())
	r.broadcast(frame, nil)
	r.sendInboxMessage(p.msg)
	r.stopTyping(p.msg.SenderId, false) // the message says it: no typing:false
	if p.quiet {
		r.e.stats.acceptedSocket.Add(1)
		r.movePosterMarker(ctx, p.msg, nil, nil)
	} else if !r.movePosterMarker(ctx, p.msg, p.replyTo, &pb.Posted{Message: p.msg}) {
		r.reply(ctx, p.replyTo, &pb.Posted{Message: p.msg})
	}
	for _, d := range p.dups {
		r.reply(ctx, d, &pb.Posted{Message: p.msg, Duplicate: true})
	}
}

// remember keeps a delivered message in the ring. A client_id is remembered
// (from onPost, or newRoom for loaded messages) as long as its message is:
// older resends are caught at the edge, which checks the store before
// posting.
func (r *room) remember(m *pspb.Message, frame []byte, senders uint64) {
	r.changed()
	r.forget(r.recent.push(recent{msg: m, frame: frame, senders: senders}))
	// Over the rings' budget, the room that is delivering gives back its
	// oldest messages, down to what its detail shows.
	for r.e.recentBytes.Load() > r.e.cfg.RecentBytes && r.recent.len() > r.e.cfg.DetailMessages {
		r.forget(r.recent.shift())
	}
}

// forget drops the client_id of a message leaving the ring.
func (r *room) forget(ev recent) {
	if ev.msg != nil && ev.msg.ClientId != "" {
		k := clientKey{ev.msg.SenderId, ev.msg.ClientId}
		if r.clientIDs[k] == ev.msg.Seq {
			delete(r.clientIDs, k)
		}
	}
}

// fail answers a record that will not be stored, in the form its request
// expects.
func (r *room) fail(ctx actor.Context, p *pendingPost, code string) {
	if p.change != persistence.Created {
		r.reply(ctx, p.replyTo, &pb.MessageChanged{ErrorCode: code})
		return
	}
	r.reply(ctx, p.replyTo, &pb.Posted{ErrorCode: code})
	for _, d := range p.dups {
		r.reply(ctx, d, &pb.Posted{ErrorCode: code})
	}
}
