package api

import (
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/persistence"
)

// markRead moves the caller's read marker in a room: to seq, or without
// it to the room's last message. It answers once the marker is durable,
// with the marker after the call, which never moves back. Checks run in
// the contract's order: not visible (404), not a member (403), then the
// body (400).
func (s *Server) markRead(ctx *fasthttp.RequestCtx, req *request) error {
	r, err := s.visibleRoom(req.user, req.id)
	if err != nil {
		return err
	}
	if _, err := s.store.Member(r.Id, req.user.Id); errors.Is(err, persistence.ErrNotFound) {
		return errNotMember
	} else if err != nil {
		return err
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	last, err := s.store.LastSeq(r.Id)
	if err != nil {
		return err
	}
	seq, all := readSeqField(f, last)
	if err := f.err(); err != nil {
		return err
	}
	marker, err := s.engine.MarkRead(r.Id, req.user.Id, seq, all)
	switch {
	case errors.Is(err, actors.ErrNotMember):
		return errNotMember
	case err != nil:
		return unavailable(err)
	}
	if last, err = s.store.LastSeq(r.Id); err != nil {
		return err
	}
	b := append(make([]byte, 0, 64), `{"room":`...)
	b = strconv.AppendInt(b, r.Id, 10)
	b = append(b, `,"last_read_seq":`...)
	b = strconv.AppendInt(b, marker, 10)
	b = append(b, `,"unread_count":`...)
	b = strconv.AppendInt(b, actors.UnreadCount(s.store, r.Id, last, marker), 10)
	writeRaw(ctx, fasthttp.StatusOK, append(b, '}'))
	return nil
}

// errNotMember refuses a read marker to a user who can see a public room
// but has not joined it.
var errNotMember = detailError(EFORBIDDEN, "You are not a member of this room.")

// readSeqField reads the optional seq of a mark: an integer from 0 to the
// room's last seq. all is true when it is absent; null is refused, as DRF
// refuses it for a field that is not nullable.
func readSeqField(f *form, last int64) (seq int64, all bool) {
	raw, ok := f.raw["seq"]
	if !ok {
		return 0, true
	}
	if string(raw) == "null" {
		f.add("seq", "This field may not be null.")
		return 0, false
	}
	v, ok := intValue(raw)
	switch {
	case !ok:
		f.add("seq", "A valid integer is required.")
	case v < 0:
		f.add("seq", "Ensure this value is greater than or equal to 0.")
	case v > last:
		f.add("seq", "Ensure this value is less than or equal to "+strconv.FormatInt(last, 10)+".")
	default:
		return v, false
	}
	return 0, false
}
