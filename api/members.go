package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

const (
	membersDefault = 100
	membersMax     = 1000
	// maxCreateMembers is the most members a room creation may name (a
	// fixed part of the contract).
	maxCreateMembers = 100
)

// visibleRoom returns room id when user may see it: a public room, or one
// user is a member of. Every other room answers exactly like a room that
// does not exist (404 "Not found."), so that a non-member cannot tell a
// private room from a missing one. Every request about a room or its
// messages goes through it.
func (s *Server) visibleRoom(user *authUser, id int64) (*pspb.Room, error) {
	r, err := s.store.RoomVisibleTo(id, user.Id)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, errNotFound
	}
	return r, err
}

// viewOf returns what of r depends on who looks at it: the caller's role
// ("" when not a member) and, in a direct room, the other member.
func (s *Server) viewOf(r *pspb.Room, user int64) (role string, peer *pspb.User, err error) {
	_, err = s.store.Member(r.Id, user)
	switch {
	case errors.Is(err, persistence.ErrNotFound):
	case err != nil:
		return "", nil, err
	}
	role = actors.RoleOf(r, user, err == nil)
	if persistence.RoomKind(r) != persistence.KindDirect {
		return role, nil, nil
	}
	peer, err = s.directPeer(r, user)
	return role, peer, err
}

// directPeer returns the member of direct room r who is not user.
func (s *Server) directPeer(r *pspb.Room, user int64) (*pspb.User, error) {
	ms, err := s.store.Members(r.Id, 0, 2)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.User != user {
			return s.store.UserByID(m.User)
		}
	}
	return nil, persistence.ErrNotFound
}

// listMembers answers the members of a visible room, by user id, paged
// with after and limit.
func (s *Server) listMembers(ctx *fasthttp.RequestCtx, req *request) error {
	r, err := s.visibleRoom(req.user, req.id)
	if err != nil {
		return err
	}
	after, err := queryInt(ctx, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(ctx, "limit", membersDefault)
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), membersMax)
	ms, err := s.store.Members(r.Id, after, int(limit))
	if err != nil {
		return err
	}
	b := append(make([]byte, 0, 200*len(ms)+2), '[')
	for i, m := range ms {
		u, err := s.store.UserByID(m.User)
		if err != nil {
			return err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = actors.AppendMember(b, m, u)
	}
	writeRaw(ctx, fasthttp.StatusOK, append(b, ']'))
	return nil
}

// addMember adds a user to a room: the caller themselves (joining) or,
// for the owner, anyone. The room's rules are decided by its actor; they
// are applied here first only to answer 403 before a 400 about the body.
func (s *Server) addMember(ctx *fasthttp.RequestCtx, req *request) error {
	if err := s.limitMemberAdd(req.user.Id); err != nil {
		return err
	}
	r, err := s.visibleRoom(req.user, req.id)
	if err != nil {
		return err
	}
	f, formErr := readForm(ctx)
	var target int64
	fieldOK := false
	if formErr == nil {
		target, fieldOK = pkField(f, "user")
	}
	self := fieldOK && target == req.user.Id
	role, _, err := s.viewOf(r, req.user.Id)
	if err != nil {
		return err
	}
	if err := actors.CheckAdd(r, role, self); err != nil && (fieldOK || actors.CheckAdd(r, role, !self) != nil) {
		return membershipError(err)
	}
	if formErr != nil {
		return formErr
	}
	if err := f.err(); err != nil {
		return err
	}
	u, err := s.userField(target, "user")
	if err != nil {
		return err
	}
	m, created, err := s.engine.AddMember(r.Id, req.user.Id, target)
	if err != nil {
		return s.membershipError(err)
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	writeRaw(ctx, status, actors.AppendMember(nil, m, u))
	return nil
}

// removeMember removes a member (the owner removing another) or the
// caller (leaving). It answers once the removal is stored and announced
// and the user's sockets on a private room are closed.
func (s *Server) removeMember(ctx *fasthttp.RequestCtx, req *request) error {
	r, err := s.visibleRoom(req.user, req.id)
	if err != nil {
		return err
	}
	if err := s.engine.RemoveMember(r.Id, req.user.Id, req.sub); err != nil {
		return s.membershipError(err)
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// openDirect opens the caller's direct room with another user: 201 when
// it is created, 200 with the same room afterwards, whoever opens it.
func (s *Server) openDirect(ctx *fasthttp.RequestCtx, req *request) error {
	if err := s.limitRoom(req.user.Id); err != nil {
		return err
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	target, _ := pkField(f, "user")
	if err := f.err(); err != nil {
		return err
	}
	_, err = s.userField(target, "user")
	if err != nil {
		return err
	}
	if target == req.user.Id {
		return fieldError("user", "You cannot open a direct room with yourself.")
	}
	r, created, err := s.engine.OpenDirect(req.user.Id, target)
	if err != nil {
		return err
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	b, err := s.appendRoomWithReadState(make([]byte, 0, 640), r, ctx.Host(), req.user.Id)
	if err != nil {
		return err
	}
	if created {
		s.inboxRoomAdd(r.Id, req.user.Id, target)
	}
	writeRaw(ctx, status, append(b, '}'))
	return nil
}

// membershipError turns a refusal from the room into the API's answer.
func membershipError(err error) error {
	var f actors.Forbidden
	if errors.As(err, &f) {
		return detailError(EFORBIDDEN, string(f))
	}
	return err
}

func (s *Server) membershipError(err error) error {
	switch {
	case errors.Is(err, actors.ErrNotMember):
		return errNotFound
	case errors.Is(err, actors.ErrRoomFull):
		return fieldError("non_field_errors", "This room has reached its limit of "+strconv.Itoa(s.engine.MaxRoomMembers())+" members.")
	}
	return unavailable(membershipError(err))
}

// pkField reads a primary key field as DRF's PrimaryKeyRelatedField does,
// recording its errors in f; ok is false when it is not a valid id (its
// existence is checked by the caller).
func pkField(f *form, name string) (id int64, ok bool) {
	raw, present := f.raw[name]
	if !present {
		f.add(name, "This field is required.")
		return 0, false
	}
	if string(raw) == "null" {
		f.add(name, "This field may not be null.")
		return 0, false
	}
	return pkValue(f, name, raw)
}

// pkValue reads one primary key value; ok is false when it has the wrong
// type (recorded in f under name).
func pkValue(f *form, name string, raw json.RawMessage) (int64, bool) {
	id, ok := intValue(raw)
	if !ok || raw[0] == '"' && !isDigits(string(raw[1:len(raw)-1])) {
		f.add(name, "Incorrect type. Expected pk value, received "+jsonKindOf(raw)+".")
		return 0, false
	}
	return id, true
}

// invalidPK is DRF's answer for a primary key of nothing.
func invalidPK(field string, id int64) error {
	return fieldError(field, "Invalid pk \""+strconv.FormatInt(id, 10)+"\" - object does not exist.")
}

// userField loads the user named by a valid primary key field, or answers
// DRF's 400 for a key of nothing.
func (s *Server) userField(id int64, field string) (*pspb.User, error) {
	if id <= 0 {
		return nil, invalidPK(field, id)
	}
	u, err := s.store.UserByID(id)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, invalidPK(field, id)
	}
	return u, err
}

// roomKindField reads the kind of a new room: public (the default) or
// private. Direct rooms have their own path.
func roomKindField(f *form) string {
	raw, ok := f.raw["kind"]
	switch {
	case !ok:
		return persistence.KindPublic
	case string(raw) == "null":
		f.add("kind", "This field may not be null.")
		return ""
	}
	kind := f.str("kind", strRule{allowBlank: true})
	switch kind {
	case persistence.KindPublic, persistence.KindPrivate:
		return kind
	case persistence.KindDirect:
		f.add("kind", "Open direct rooms with POST /chat/v1/room/direct/.")
	default:
		if _, bad := f.errs["kind"]; !bad {
			f.add("kind", "\""+kind+"\" is not a valid choice.")
		}
	}
	return ""
}

// membersField reads the optional list of members of a new room: at most
// maxCreateMembers ids of existing users.
func (s *Server) membersField(f *form) []int64 {
	raw, ok := f.raw["members"]
	if !ok {
		return nil
	}
	if string(raw) == "null" {
		f.add("members", "This field may not be null.")
		return nil
	}
	items, isList := f.lists["members"] // an HTML form: every value given
	if !isList && (raw[0] != '[' || json.Unmarshal(raw, &items) != nil) {
		f.add("members", "Expected a list of items but got type \""+pyTypeOf(raw)+"\".")
		return nil
	}
	if len(items) > maxCreateMembers {
		f.add("members", "Ensure this field has no more than "+strconv.Itoa(maxCreateMembers)+" elements.")
		return nil
	}
	ids := make([]int64, 0, len(items))
	for _, item := range items {
		if string(item) == "null" {
			f.add("members", "This field may not be null.")
			return nil
		}
		id, ok := pkValue(f, "members", item)
		if !ok {
			return nil
		}
		if _, err := s.userField(id, "members"); err != nil {
			var e *Error
			if errors.As(err, &e) {
				f.add("members", e.Fields["members"][0])
				return nil
			}
			f.add("members", "Service temporarily unavailable, try again.")
			return nil
		}
		ids = append(ids, id)
	}
	return ids
}

// pyTypeOf names a JSON value's type as DRF's messages do (Python's).
func pyTypeOf(raw []byte) string {
	switch raw[0] {
	case '"':
		return "str"
	case '{':
		return "dict"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return "int"
	}
	return "float"
}

// limitMemberAdd counts a member addition against its user's rate.
func (s *Server) limitMemberAdd(user int64) error {
	if ok, wait := s.memberAddRate.take(user, time.Now()); !ok {
		return s.throttled("member_add_rate", wait)
	}
	return nil
}
