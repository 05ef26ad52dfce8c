package api

import (
	"errors"
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

// appendRoom appends the room object of PROTOCOL.md, without its closing
// brace so that the detail view can add fields.
func appendRoom(b []byte, r *pspb.Room, host []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, r.Id, 10)
	b = append(b, `,"name":`...)
	b = actors.AppendJSONString(b, r.Name)
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
	return append(b, '"')
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

func (s *Server) listRooms(ctx *fasthttp.RequestCtx, _ *request) error {
	after, err := queryInt(ctx, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(ctx, "limit", int64(s.cfg.RoomPageSize))
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), int64(s.cfg.RoomPageMax))
	rooms, err := s.store.Rooms(after, int(limit))
	if err != nil {
		return err
	}
	b := append(make([]byte, 0, 160*len(rooms)+2), '[')
	for i, r := range rooms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendRoom(b, r, ctx.Host()), '}')
	}
	writeRaw(ctx, fasthttp.StatusOK, append(b, ']'))
	return nil
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
	if err := f.err(); err != nil {
		return err
	}
	r := &pspb.Room{Name: name, Post: post, Owner: req.user.Id, CreatedAtUs: time.Now().UnixMicro()}
	if err := s.engine.CreateRoom(r); err != nil {
		if errors.Is(err, persistence.ErrPostTaken) {
			return fieldError("post", "room with this post already exists.")
		}
		return err
	}
	writeRaw(ctx, fasthttp.StatusCreated, append(appendRoom(nil, r, ctx.Host()), '}'))
	return nil
}

// roomByID loads a room or answers 404.
func (s *Server) roomByID(id int64) (*pspb.Room, error) {
	r, err := s.store.RoomByID(id)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, errNotFound
	}
	return r, err
}

func (s *Server) roomDetail(ctx *fasthttp.RequestCtx, req *request) error {
	r, err := s.roomByID(req.id)
	if err != nil {
		return err
	}
	st, err := s.engine.RoomState(r.Id)
	if err != nil {
		return unavailable(err)
	}
	b := appendRoom(make([]byte, 0, 512+len(st.RecentJson)), r, ctx.Host())
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
	before, err := queryInt(ctx, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(ctx, "limit", historyDefault)
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), historyMax)
	if _, err := s.roomByID(req.id); err != nil {
		return err
	}
	if before == 0 && ctx.QueryArgs().Has("before") {
		writeRaw(ctx, fasthttp.StatusOK, []byte("[]")) // nothing is below seq 1
		return nil
	}
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
	roomID := s.roomField(f)
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

// roomField reads the message's room: a primary key of an existing room.
func (s *Server) roomField(f *form) int64 {
	raw, ok := f.raw["room"]
	if !ok {
		f.add("room", "This field is required.")
		return 0
	}
	if string(raw) == "null" {
		f.add("room", "This field may not be null.")
		return 0
	}
	id, ok := intValue(raw)
	if !ok || raw[0] == '"' && !isDigits(string(raw[1:len(raw)-1])) {
		f.add("room", "Incorrect type. Expected pk value, received "+jsonKindOf(raw)+".")
		return 0
	}
	if _, err := s.store.RoomByID(id); id <= 0 || err != nil {
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
