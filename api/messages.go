package api

import (
	"errors"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// Answers of the message endpoints.
var (
	errEditOthers   = detailError(EFORBIDDEN, "You can only edit your own messages.")
	errDeleteOthers = detailError(EFORBIDDEN, "You can only delete your own messages.")
	errEditDeleted  = fieldError("non_field_errors", "A deleted message cannot be edited.")
)

// messageFor loads a message and its room for u, or answers 404 when the
// message does not exist or its room is not visible to u. It is the one
// place the message endpoints decide visibility.
func (s *Server) messageFor(u *authUser, id int64) (*pspb.Message, *pspb.Room, error) {
	m, err := s.store.MessageByID(id)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, nil, errNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	r, err := s.visibleRoom(u, m.Room)
	if err != nil {
		return nil, nil, err
	}
	return m, r, nil
}

// mayDelete reports whether u may delete m in room r: its sender, or the
// owner of a public or private room (a direct room has no owner's rights).
func mayDelete(u *authUser, r *pspb.Room, m *pspb.Message) bool {
	return m.SenderId == u.Id || r.Owner == u.Id && persistence.RoomKind(r) != persistence.KindDirect
}

// getMessage answers a message in its current state.
func (s *Server) getMessage(ctx *fasthttp.RequestCtx, req *request) error {
	m, _, err := s.messageFor(req.user, req.id)
	if err != nil {
		return err
	}
	writeRaw(ctx, fasthttp.StatusOK, actors.AppendMessage(nil, m, s.engine.Senders()))
	return nil
}

// editMessage replaces a message's text, through its room: the edit takes
// the room's next rev and reaches events=edit sockets as
// chat.message.update. The body is validated as on creation; the same text
// changes nothing. Edits count against the sender's message rate.
func (s *Server) editMessage(ctx *fasthttp.RequestCtx, req *request) error {
	m, _, err := s.messageFor(req.user, req.id)
	if err != nil {
		return err
	}
	if m.SenderId != req.user.Id {
		return errEditOthers
	}
	if err := s.limitMessage(req.user.Id); err != nil {
		return err
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	text := f.str("message", strRule{required: true, maxChars: s.cfg.MaxMessageChars})
	if err := f.err(); err != nil {
		return err
	}
	if m.DeletedAtUs != 0 {
		return errEditDeleted
	}
	changed, _, err := s.engine.ChangeMessage(&pb.ChangeMessage{Room: m.Room, Seq: m.Seq, UserId: req.user.Id, Text: text})
	if errors.Is(err, actors.ErrMessageDeleted) {
		return errEditDeleted
	}
	if err != nil {
		return unavailable(err)
	}
	writeRaw(ctx, fasthttp.StatusOK, actors.AppendMessage(nil, changed, s.engine.Senders()))
	return nil
}

// deleteMessage turns a message into a tombstone, through its room: its
// text is erased, it takes the room's next rev, and events=edit sockets get
// chat.message.delete. Deleting a tombstone changes nothing. Deletions
// count against the deleting user's message rate.
func (s *Server) deleteMessage(ctx *fasthttp.RequestCtx, req *request) error {
	m, r, err := s.messageFor(req.user, req.id)
	if err != nil {
		return err
	}
	if !mayDelete(req.user, r, m) {
		return errDeleteOthers
	}
	if err := s.limitMessage(req.user.Id); err != nil {
		return err
	}
	if m.DeletedAtUs == 0 {
		if _, _, err := s.engine.ChangeMessage(&pb.ChangeMessage{Room: m.Room, Seq: m.Seq, UserId: req.user.Id, Delete: true}); err != nil {
			return unavailable(err)
		}
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
