package api

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

const (
	maxRoomNameChars = 100
	historyDefault   = 50
	historyMax       = 200
)

// appendRoom appends the room object of PROTOCOL.md with the four keys of
// membership, as the caller sees it: their role ("" when not a member)
// and, in a direct room, the other member (peer), whose nickname is the
// room's name. The closing brace is left out so that other views can add
// fields.
func appendRoom(b []byte, r *pspb.Room, host []byte, role string, peer *pspb.User) []byte {
	name := r.Name
	if peer != nil {
		name = peer.Nickname
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.Id, 10)
	b = append(b, `,"name":`...)
	b = actors.AppendJSONString(b, name)
	b = append(b, `,"post":`...)
	if r.Post == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, r.Post, 10)
	}
	b = append(b, `,"owner":`...)
	b = strconv.AppendInt(b, r.Owner, 10)
	b = append(b, `,"chat_url":`...)
	b = actors.AppendJSONString(b, string(host)+"/ws/chat/"+strconv.FormatInt(r.Id, 10)+"/chat/")
	b = append(b, `,"created_at":"`...)
	b = actors.AppendTime(b, r.CreatedAtUs)
	b = append(b, `","kind":`...)
	b = actors.AppendJSONString(b, persistence.RoomKind(r))
	b = append(b, `,"member_count":`...)
	b = strconv.AppendInt(b, r.MemberCount, 10)
	b = append(b, `,"role":`...)
	if role == "" {
		b = append(b, "null"...)
	} else {
		b = actors.AppendJSONString(b, role)
	}
	b = append(b, `,"peer":`...)
	if peer == nil {
		return append(b, "null"...)
	}
	return actors.AppendPublicUser(b, peer)
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(ctx *fasthttp.RequestCtx, name string, def int64) (int64, error) {
	v := ctx.QueryArgs().Peek(name)
	if len(v) == 0 {
		return def, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return 0, fieldError(name, "A valid non-negative integer is required.")
	}
	return n, nil
}

// listRooms lists the rooms visible to the caller: every public room and
// the private and direct rooms they are a member of.
func (s *Server) listRooms(ctx *fasthttp.RequestCtx, req *request) error {
	s.catchUp()
	after, err := queryInt(ctx, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(ctx, "limit", int64(s.cfg.RoomPageSize))
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), int64(s.cfg.RoomPageMax))
	rooms, member, err := s.store.VisibleRooms(req.user.Id, after, int(limit))
	if err != nil {
		return err
	}
	b := append(make([]byte, 0, 240*len(rooms)+2), '[')
	for i, r := range rooms {
		var peer *pspb.User
		if persistence.RoomKind(r) == persistence.KindDirect {
			if peer, err = s.directPeer(r, req.user.Id); err != nil {
				return err
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendRoom(b, r, ctx.Host(), actors.RoleOf(r, req.user.Id, member[r.Id]), peer), '}')
	}
	writeRaw(ctx, fasthttp.StatusOK, append(b, ']'))
	return nil
}

// distinctMembers counts a new room's members: its owner and the users it
// names, each once.
func distinctMembers(owner int64, members []int64) int {
	seen := map[int64]struct{}{owner: {}}
	for _, id := range members {
		seen[id] = struct{}{}
	}
	return len(seen)
}

// createRoom creates a room owned by the caller. Every request counts
// against the user's room rate, as a DRF throttle counts requests.
func (s *Server) createRoom(ctx *fasthttp.RequestCtx, req *request) error {
	if err := s.limitRoom(req.user.Id); err != nil {
		return err
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	name := f.str("name", strRule{required: true, trim: true, maxChars: maxRoomNameChars})
	post := f.positiveInt("post", false)
	kind := roomKindField(f)
	members := s.membersField(f)
	if err := f.err(); err != nil {
		return err
	}
	if distinctMembers(req.user.Id, members) > s.engine.MaxRoomMembers() {
		return s.membershipError(actors.ErrRoomFull)
	}
	r := &pspb.Room{Name: name, Post: post, Owner: req.user.Id, CreatedAtUs: time.Now().UnixMicro(), Kind: kind}
	if err := s.engine.CreateRoom(r, members...); err != nil {
		if errors.Is(err, persistence.ErrPostTaken) {
			return fieldError("post", "room with this post already exists.")
		}
		return err
	}
	b, err := s.appendRoomWithReadState(make([]byte, 0, 512), r, ctx.Host(), req.user.Id)
	if err != nil {
		return err
	}
	s.inboxRoomAdd(r.Id, append([]int64{req.user.Id}, members...)...)
	writeRaw(ctx, fasthttp.StatusCreated, append(b, '}'))
	return nil
}

func (s *Server) roomDetail(ctx *fasthttp.RequestCtx, req *request) error {
	r, err := s.visibleRoom(req.user, req.id)
	if err != nil {
		return err
	}
	st, err := s.engine.RoomState(r.Id)
	if err != nil {
		return unavailable(err)
	}
	b, err := s.appendRoomWithReadState(make([]byte, 0, 800+len(st.RecentJson)), r, ctx.Host(), req.user.Id)
	if err != nil {
		return err
	}
	b = append(b, `,"chat_messages":`...)
	b = append(b, st.RecentJson...)
	b = append(b, `,"online":[`...)
	for i, n := range st.Online {
		if i > 0 {
			b = append(b, ',')
		}
		b = actors.AppendJSONString(b, n)
	}
	writeRaw(ctx, fasthttp.StatusOK, append(b, "]}"...))
	return nil
}

func (s *Server) history(ctx *fasthttp.RequestCtx, req *request) error {
	if _, err := s.visibleRoom(req.user, req.id); err != nil {
		return err
	}
	before, err := queryInt(ctx, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(ctx, "limit", historyDefault)
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), historyMax)
	if before == 0 && ctx.QueryArgs().Has("before") {
		writeRaw(ctx, fasthttp.StatusOK, []byte("[]")) // nothing is below seq 1
		return nil
	}
	s.catchUp()
	msgs, err := s.store.MessagesBefore(req.id, before, int(limit))
	if err != nil {
		return err
	}
	writeRaw(ctx, fasthttp.StatusOK, actors.AppendMessages(make([]byte, 0, 200*len(msgs)+2), msgs, s.engine.Senders()))
	return nil
}

// createMessage stores a message and delivers it to the room's sockets,
// exactly like one sent over a socket. With a client_id already used by
// this user in this room, the original is returned (200) and nothing new
// is stored. Every request counts against the user's message rate, which
// the user's sockets share, as a DRF throttle counts requests.
func (s *Server) createMessage(ctx *fasthttp.RequestCtx, req *request) error {
	if err := s.limitMessage(req.user.Id); err != nil {
		return err
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	text := f.str("message", strRule{required: true, maxChars: s.cfg.MaxMessageChars})
	clientID := f.str("client_id", strRule{allowBlank: true, maxChars: maxClientIDChars})
	roomID := s.roomField(f, req.user)
	if err := f.err(); err != nil {
		return err
	}
	if clientID != "" {
		if m, err := s.store.MessageByClientID(roomID, req.user.Id, clientID); err == nil {
			writeRaw(ctx, fasthttp.StatusOK, actors.AppendMessage(nil, m, s.engine.Senders()))
			return nil
		}
	}
	m, dup, err := s.engine.Post(&pb.Post{Room: roomID, Sender: req.user.sender(), Text: text, ClientId: clientID})
	if errors.Is(err, actors.ErrRoomNotFound) {
		return invalidPK("room", roomID) // removed from the room meanwhile
	}
	if err != nil {
		return unavailable(err)
	}
	status := fasthttp.StatusCreated
	if dup {
		status = fasthttp.StatusOK
	}
	writeRaw(ctx, status, actors.AppendMessage(nil, m, s.engine.Senders()))
	return nil
}

// roomField reads the message's room: a primary key of a room visible to
// user. A room that is not visible is a key of nothing, like a missing one.
func (s *Server) roomField(f *form, user *authUser) int64 {
	id, ok := pkField(f, "room")
	if !ok {
		return 0
	}
	if _, err := s.visibleRoom(user, id); id <= 0 || err != nil {
		f.add("room", "Invalid pk \""+strconv.FormatInt(id, 10)+"\" - object does not exist.")
		return 0
	}
	return id
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func jsonKindOf(raw []byte) string {
	switch raw[0] {
	case '"':
		return "str"
	case '[':
		return "list"
	case '{':
		return "dict"
	case 't', 'f':
		return "bool"
	}
	return "float"
}

// catchUp is the read barrier of lists and history in cluster mode: it
// waits until this node has applied every write any node acknowledged
// before the request, so that a client may write through one node and
// read through another. When the log cannot say (an election, a node cut
// off), the read goes on with what this node has, rather than fail.
func (s *Server) catchUp() {
	if err := s.store.Sync(); err != nil {
		s.logRateLimited(slog.LevelWarn, "cluster: read not synced with the log", slog.Any("err", err))
	}
}
