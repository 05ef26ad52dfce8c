package actors

import (
	"errors"
	"strconv"
	"time"

	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// Forbidden is a refusal under a room's membership rules. Its text is what
// the client is told (the 403 detail).
type Forbidden string

func (f Forbidden) Error() string { return string(f) }

// The membership refusals.
const (
	ForbidAddOthers    Forbidden = "Only the room owner can add other members."
	ForbidPrivateJoin  Forbidden = "Only the room owner can add members to a private room."
	ForbidDirect       Forbidden = "Direct rooms have fixed members."
	ForbidRemoveOthers Forbidden = "Only the room owner can remove other members."
	ForbidOwnerLeave   Forbidden = "The owner cannot leave the room."
)

// Errors of membership requests.
var (
	// ErrNotMember means the user is not a member of the room.
	ErrNotMember = errors.New("actors: not a member")
	// ErrRoomFull means the room has reached its member limit.
	ErrRoomFull = persistence.ErrRoomFull
)

// RoleOf is user's role in r given whether the user is a member: "owner",
// "member", or "" for none. The owner of a direct room is only whoever
// opened it, with no extra rights.
func RoleOf(r *pspb.Room, user int64, member bool) string {
	switch {
	case !member:
		return ""
	case user == r.Owner && persistence.RoomKind(r) != persistence.KindDirect:
		return persistence.RoleOwner
	default:
		return persistence.RoleMember
	}
}

// CheckAdd says whether a user with role byRole in r ("" for none) may
// add a user: themselves (self) or another.
func CheckAdd(r *pspb.Room, byRole string, self bool) error {
	switch persistence.RoomKind(r) {
	case persistence.KindDirect:
		return ForbidDirect
	case persistence.KindPrivate:
		if byRole == persistence.RoleOwner {
			return nil
		}
		if self {
			return ForbidPrivateJoin
		}
		return ForbidAddOthers
	default:
		if !self && byRole != persistence.RoleOwner {
			return ForbidAddOthers
		}
		return nil
	}
}

// CheckRemove says whether a user with role byRole in r may remove a
// member: themselves (self, leaving) or another.
func CheckRemove(r *pspb.Room, byRole string, self bool) error {
	switch {
	case persistence.RoomKind(r) == persistence.KindDirect:
		return ForbidDirect
	case self && byRole == persistence.RoleOwner:
		return ForbidOwnerLeave
	case !self && byRole != persistence.RoleOwner:
		return ForbidRemoveOthers
	}
	return nil
}

// AppendPublicUser appends the public user object: what any signed-in
// user may see about another. It never has the email.
func AppendPublicUser(b []byte, u *pspb.User) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, u.Id, 10)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, u.Nickname)
	b = append(b, `,"profile_picture_url":`...)
	b = appendPicture(b, u.ProfilePicture)
	b = append(b, `,"date_joined":"`...)
	b = AppendTime(b, u.DateJoinedUs)
	return append(b, `"}`...)
}

// AppendMember appends the member object of m, whose user is u.
func AppendMember(b []byte, m *pspb.Member, u *pspb.User) []byte {
	b = append(b, `{"user":`...)
	b = AppendPublicUser(b, u)
	b = append(b, `,"role":`...)
	b = AppendJSONString(b, m.Role)
	b = append(b, `,"joined_at":"`...)
	b = AppendTime(b, m.JoinedAtUs)
	b = append(b, `","last_read_seq":`...)
	b = strconv.AppendInt(b, m.LastReadSeq, 10)
	return append(b, '}')
}

// MemberAddFrame encodes chat.member.add: u joined room as role, by the
// act of user by.
func MemberAddFrame(room int64, u *pspb.User, role string, by int64) []byte {
	b := append(make([]byte, 0, 192+len(u.Nickname)+len(u.ProfilePicture)), `{"type":"chat.member.add","room":`...)
	b = strconv.AppendInt(b, room, 10)
	b = append(b, `,"user":`...)
	b = AppendPublicUser(b, u)
	b = append(b, `,"role":`...)
	b = AppendJSONString(b, role)
	b = append(b, `,"by":`...)
	b = strconv.AppendInt(b, by, 10)
	return append(b, '}')
}

// MemberRemoveFrame encodes chat.member.remove.
func MemberRemoveFrame(room int64, u *pspb.User, by int64) []byte {
	b := append(make([]byte, 0, 176+len(u.Nickname)+len(u.ProfilePicture)), `{"type":"chat.member.remove","room":`...)
	b = strconv.AppendInt(b, room, 10)
	b = append(b, `,"user":`...)
	b = AppendPublicUser(b, u)
	b = append(b, `,"by":`...)
	b = strconv.AppendInt(b, by, 10)
	return append(b, '}')
}

// memberChange asks a room to add or remove a member. Requests from the
// edges are answered on reply (buffered); a join by posting (auto) is
// answered to the posts it holds.
type memberChange struct {
	room, by, user int64
	add            bool
	auto           bool
	reply          chan memberResult
}

// memberResult answers a memberChange.
type memberResult struct {
	member  *pspb.Member
	created bool
	err     error
}

// memberStored reports the end of a membership write, run off the room's
// goroutine.
type memberStored struct {
	change *memberChange
	member *pspb.Member
	user   *pspb.User // for the frame
	added  bool       // false: already a member (a race with another add)
	err    error
}

// AddMember adds user to room on behalf of by, under the room's rules. A
// room that is not visible to by answers ErrRoomNotFound. created is false
// when user already was a member; m is then the existing membership.
func (e *Engine) AddMember(room, by, user int64) (m *pspb.Member, created bool, err error) {
	res := e.changeMembers(&memberChange{room: room, by: by, user: user, add: true})
	return res.member, res.created, res.err
}

// RemoveMember removes user from room on behalf of by (leaving when they
// are the same), under the room's rules. It returns once the removal is
// stored, announced, and the user's sockets on a private or direct room
// are closed. ErrRoomNotFound: room not visible to by; ErrNotMember: user
// is not a member.
func (e *Engine) RemoveMember(room, by, user int64) error {
	return e.changeMembers(&memberChange{room: room, by: by, user: user}).err
}

func (e *Engine) changeMembers(c *memberChange) memberResult {
	c.reply = make(chan memberResult, 1)
	e.root.Send(e.hub, c)
	t := time.NewTimer(e.cfg.RequestTimeout)
	defer t.Stop()
	select {
	case res := <-c.reply:
		return res
	case <-t.C:
		return memberResult{err: ErrUnavailable}
	}
}

// OpenDirect returns the direct room of a and b, creating it when it does
// not exist (created). It needs no actor: the store serializes creations.
func (e *Engine) OpenDirect(a, b int64) (room *pspb.Room, created bool, err error) {
	return e.cfg.Store.OpenDirect(a, b, time.Now().UnixMicro())
}
