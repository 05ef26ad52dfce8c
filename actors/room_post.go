package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	pspb "livechat/persistence/pb"
)

// onPost assigns the next seq and hands the message to the writer. Nothing
// is delivered until the writer confirms it durable (onPersisted), so a
// client never sees a message a crash could take back.
// A quiet post (a session's) is not answered once stored.
func (r *room) onPost(ctx actor.Context, p *pb.Post, quiet bool) {
	if p.ClientId != "" {
		if seq, ok := r.clientIDs[clientKey{p.Sender.UserId, p.ClientId}]; ok {
			r.answerDuplicate(ctx, seq, ctx.Sender())
			return
		}
	}
	if err := r.e.cfg.Store.AdmitMessage(len(p.Text) + len(p.ClientId)); err != nil {
		r.reply(ctx, ctx.Sender(), &pb.Posted{ErrorCode: writeCode(err)})
		return
	}
	r.nextSeq++
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
	}
	r.pending = append(r.pending, &pendingPost{msg: m, replyTo: ctx.Sender(), quiet: quiet})
	if m.ClientId != "" {
		r.clientIDs[clientKey{m.SenderId, m.ClientId}] = m.Seq
	}
	self, root, seq := ctx.Self(), r.e.root, m.Seq
	r.e.cfg.Writer.Append([]*pspb.Message{m}, func(err error) {
		root.Send(self, &persisted{seq: seq, err: err})
	})
}

// answerDuplicate answers a client_id resend with the original message, once
// it is durable.
func (r *room) answerDuplicate(ctx actor.Context, seq int64, to *actor.PID) {
	if seq > r.delivered {
		for _, p := range r.pending {
			if p.msg.Seq == seq {
				p.dups = append(p.dups, to)
				return
			}
		}
	}
	if rc, ok := r.recent.find(seq); ok {
		r.reply(ctx, to, &pb.Posted{Message: rc.msg, Duplicate: true})
	}
}

// onPersisted delivers a durable message: encode once, hand the same bytes
// to every member, then answer the poster. The writer confirms in append
// order, so p is always the oldest pending post.
func (r *room) onPersisted(ctx actor.Context, done *persisted) {
	if len(r.pending) == 0 || r.pending[0].msg.Seq != done.seq {
		r.e.log.Error("room: confirmation out of order", "room", r.id, "seq", done.seq)
		ctx.Stop(ctx.Self())
		return
	}
	p := r.pending[0]
	r.pending[0] = nil
	r.pending = r.pending[1:]
	if done.err != nil {
		// The store failed: answer, then restart from what is stored so seq
		// stays gap-free.
		r.e.log.Error("room: write failed", "room", r.id, "seq", done.seq, "err", done.err)
		r.reply(ctx, p.replyTo, &pb.Posted{ErrorCode: writeCode(done.err)})
		ctx.Stop(ctx.Self())
		return
	}
	frame := MessageFrame(p.msg)
	r.delivered = p.msg.Seq
	r.remember(p.msg, frame)
	r.broadcast(frame, nil)
	r.stopTyping(p.msg.SenderId, false) // the message says it: no typing:false
	if p.quiet {
		r.e.stats.acceptedSocket.Add(1)
	} else {
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
func (r *room) remember(m *pspb.Message, frame []byte) {
	r.changed()
	r.forget(r.recent.push(recent{msg: m, frame: frame}))
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
