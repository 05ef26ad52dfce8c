package bench

import (
	"cmp"
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// fakeServer is a small in-memory server that speaks the parts of
// PROTOCOL.md and PROTOCOL-ROOMS.md the load generator uses, so the
// package's tests can drive every scenario over real sockets without the
// real server (which this package must not import): rooms with kinds and
// members, direct rooms, the inbox socket, chat.typing and chat.read
// receipts to sockets that asked for them with events=. The end-to-end
// tests against the real server live in cmd/livechat.
type fakeServer struct {
	mu    sync.Mutex
	users map[string]int // email → id
	rooms map[int64]*fakeRoom
	next  int64
	// inboxes holds each user's inbox sockets.
	inboxes map[int][]*fakeInbox
	direct  map[[2]int]int64 // (low, high user) → room
	// dropEvery, when set, skips delivering every n-th message to the
	// last member of a room: a way to check that loss is detected.
	dropEvery int64
	// dropInboxEvery, when set, skips every n-th inbox.message to the
	// inbox sockets of the room's last member.
	dropInboxEvery int64
	// joins counts POST members/ calls.
	joins atomic.Int64
}

type fakeRoom struct {
	mu      sync.Mutex
	id      int64
	kind    string
	members []int // user ids, the creator first
	seq     int64
	conns   []*fakeConn
	// sent holds every frame broadcast, by seq-1: a socket joins after its
	// 101 is written, so, like LiveChat, it first gets what was broadcast
	// since its handshake was read.
	sent [][]byte
}

type fakeConn struct {
	mu     sync.Mutex
	c      *websocket.Conn
	user   int
	events string
}

// fakeInbox is an inbox socket, registered at its handshake: frames for
// it wait in pending until the upgrade is done.
type fakeInbox struct {
	mu      sync.Mutex
	c       *websocket.Conn
	pending [][]byte
}

// write sends b, or keeps it until the socket is upgraded.
func (in *fakeInbox) write(b []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.c == nil {
		in.pending = append(in.pending, b)
		return
	}
	_ = in.c.SetWriteDeadline(time.Now().Add(time.Second))
	_ = in.c.WriteMessage(websocket.TextMessage, b)
}

// write sends b to the room socket.
func (c *fakeConn) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.c.WriteMessage(websocket.TextMessage, b)
}

// wants reports whether the socket asked for the event group ev.
func (c *fakeConn) wants(ev string) bool { return slices.Contains(strings.Split(c.events, ","), ev) }

// startFakeServer serves on 127.0.0.1:0 until the test ends.
func startFakeServer(t testing.TB) (string, *fakeServer) {
	t.Helper()
	fs := &fakeServer{users: map[string]int{}, rooms: map[int64]*fakeRoom{}, inboxes: map[int][]*fakeInbox{}, direct: map[[2]int]int64{}}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: fs.handle}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String(), fs
}

func (fs *fakeServer) handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case path == "/user/v1/register/":
		var in map[string]string
		_ = json.Unmarshal(ctx.PostBody(), &in)
		fs.mu.Lock()
		fs.users[in["email"]] = len(fs.users) + 1
		fs.mu.Unlock()
		reply(ctx, 201, map[string]any{"id": 1, "email": in["email"]})
	case path == "/user/v1/login/":
		var in map[string]string
		_ = json.Unmarshal(ctx.PostBody(), &in)
		fs.mu.Lock()
		id, ok := fs.users[in["email"]]
		fs.mu.Unlock()
		if !ok {
			reply(ctx, 400, map[string]any{"non_field_errors": []string{"Unable to log in with provided credentials."}})
			return
		}
		reply(ctx, 200, map[string]any{"access": "tok-" + strconv.Itoa(id), "refresh": "r", "user": map[string]any{"id": id}})
	case !strings.HasPrefix(string(ctx.Request.Header.Peek("Authorization")), "Bearer tok-") &&
		!strings.HasPrefix(string(ctx.QueryArgs().Peek("token")), "tok-"):
		reply(ctx, 401, map[string]any{"detail": "Authentication credentials were not provided."})
	case path == "/chat/v1/room/":
		var in struct {
			Kind    string `json:"kind"`
			Members []int  `json:"members"`
		}
		_ = json.Unmarshal(ctx.PostBody(), &in)
		kind := cmp.Or(in.Kind, "public")
		r := fs.newRoom(kind, append([]int{fs.caller(ctx)}, in.Members...))
		reply(ctx, 201, map[string]any{"id": r.id, "name": "r", "kind": kind})
	case path == "/chat/v1/room/direct/":
		var in struct {
			User int `json:"user"`
		}
		_ = json.Unmarshal(ctx.PostBody(), &in)
		me := fs.caller(ctx)
		key := [2]int{min(me, in.User), max(me, in.User)}
		fs.mu.Lock()
		id, ok := fs.direct[key]
		fs.mu.Unlock()
		if ok {
			reply(ctx, 200, map[string]any{"id": id, "kind": "direct"})
			return
		}
		r := fs.newRoom("direct", []int{me, in.User})
		fs.mu.Lock()
		fs.direct[key] = r.id
		fs.mu.Unlock()
		reply(ctx, 201, map[string]any{"id": r.id, "kind": "direct"})
	case strings.HasSuffix(path, "/members/") && ctx.IsPost():
		fs.joins.Add(1)
		var in struct {
			User int `json:"user"`
		}
		_ = json.Unmarshal(ctx.PostBody(), &in)
		id, _ := strconv.ParseInt(strings.Split(path, "/")[4], 10, 64)
		r := fs.room(id)
		if r == nil {
			reply(ctx, 404, map[string]any{"detail": "Not found."})
			return
		}
		r.mu.Lock()
		if !slices.Contains(r.members, in.User) {
			r.members = append(r.members, in.User)
		}
		r.mu.Unlock()
		reply(ctx, 201, map[string]any{"user": map[string]any{"id": in.User}, "role": "member"})
	case path == "/chat/v1/message/":
		var in struct {
			Message string `json:"message"`
			Room    int64  `json:"room"`
		}
		_ = json.Unmarshal(ctx.PostBody(), &in)
		if r := fs.room(in.Room); r != nil {
			reply(ctx, 201, r.broadcast(fs, in.Message, fs.caller(ctx)))
			return
		}
		reply(ctx, 400, map[string]any{"room": []string{"bad"}})
	case path == "/ws/inbox/":
		fs.upgradeInbox(ctx)
	case strings.HasPrefix(path, "/chat/v1/room/"):
		reply(ctx, 200, map[string]any{"id": 1, "chat_messages": []any{}, "online": []string{}})
	case strings.HasPrefix(path, "/ws/chat/"):
		fs.upgrade(ctx, path)
	default:
		reply(ctx, 404, map[string]any{"detail": "Not found."})
	}
}

// caller is the user id of the request's token.
func (fs *fakeServer) caller(ctx *fasthttp.RequestCtx) int {
	tok := cmp.Or(strings.TrimPrefix(string(ctx.Request.Header.Peek("Authorization")), "Bearer "), string(ctx.QueryArgs().Peek("token")))
	id, _ := strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
	return id
}

// newRoom adds a room of kind with members (the creator first).
func (fs *fakeServer) newRoom(kind string, members []int) *fakeRoom {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.next++
	r := &fakeRoom{id: fs.next, kind: kind, members: members}
	fs.rooms[r.id] = r
	return r
}

// upgradeInbox opens the caller's inbox socket: it gets inbox.message for
// every message of the rooms the user is a member of.
func (fs *fakeServer) upgradeInbox(ctx *fasthttp.RequestCtx) {
	user := fs.caller(ctx)
	in := &fakeInbox{}
	fs.mu.Lock()
	fs.inboxes[user] = append(fs.inboxes[user], in)
	fs.mu.Unlock()
	up := websocket.FastHTTPUpgrader{}
	_ = up.Upgrade(ctx, func(c *websocket.Conn) {
		in.mu.Lock()
		for _, b := range in.pending {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_ = c.WriteMessage(websocket.TextMessage, b)
		}
		in.c, in.pending = c, nil
		in.mu.Unlock()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		fs.mu.Lock()
		fs.inboxes[user] = slices.DeleteFunc(fs.inboxes[user], func(x *fakeInbox) bool { return x == in })
		fs.mu.Unlock()
	})
}

func (fs *fakeServer) room(id int64) *fakeRoom {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.rooms[id]
}

func (fs *fakeServer) upgrade(ctx *fasthttp.RequestCtx, path string) {
	id, _ := strconv.ParseInt(strings.Split(path, "/")[3], 10, 64)
	r := fs.room(id)
	if r == nil {
		reply(ctx, 404, map[string]any{"detail": "Not found."})
		return
	}
	r.mu.Lock()
	since := r.seq // the client may send as soon as it reads the 101
	r.mu.Unlock()
	user, events := fs.caller(ctx), string(ctx.QueryArgs().Peek("events"))
	up := websocket.FastHTTPUpgrader{}
	_ = up.Upgrade(ctx, func(c *websocket.Conn) {
		fc := &fakeConn{c: c, user: user, events: events}
		r.mu.Lock()
		for _, b := range r.sent[since:] {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_ = c.WriteMessage(websocket.TextMessage, b)
		}
		r.conns = append(r.conns, fc)
		r.mu.Unlock()
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				break
			}
			var in struct {
				Type    string `json:"type"`
				Message string `json:"message"`
				Seq     int64  `json:"seq"`
			}
			if json.Unmarshal(b, &in) != nil {
				continue
			}
			switch in.Type {
			case "chat.typing":
				r.event("typing", user, map[string]any{"type": "chat.typing", "room": r.id, "user_id": user,
					"nickname": "n", "typing": true, "timeout_ms": 5000})
			case "chat.read":
				r.mu.Lock()
				member := slices.Contains(r.members, user)
				r.mu.Unlock()
				if !member { // a public room's non-member keeps no marker
					fc.write([]byte(`{"type":"chat.error","error_type":"forbidden","message":"you are not a member of this room"}`))
					continue
				}
				r.event("read", -1, map[string]any{"type": "chat.read", "room": r.id,
					"reads": []any{map[string]any{"user_id": user, "seq": in.Seq}}})
			default:
				if in.Message != "" {
					r.broadcast(fs, in.Message, user)
				}
			}
		}
		r.mu.Lock()
		for i, x := range r.conns {
			if x == fc {
				r.conns = append(r.conns[:i], r.conns[i+1:]...)
				break
			}
		}
		r.mu.Unlock()
	})
}

// event writes an optional frame to the sockets that asked for ev, but
// not to those of user except (typing is not echoed).
func (r *fakeRoom) event(ev string, except int, v any) {
	b, _ := json.Marshal(v)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if c.wants(ev) && c.user != except {
			c.write(b)
		}
	}
}

// broadcast assigns the next seq, writes the frame to every socket of the
// room and inbox.message to every member's inbox sockets.
func (r *fakeRoom) broadcast(fs *fakeServer, msg string, sender int) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m := map[string]any{"type": "chat.message", "message": msg, "sender": "a@b.c", "nickname": "n",
		"profile_picture_url": nil, "id": r.seq, "room": 1, "seq": r.seq, "created_at": time.Now().UTC().Format(time.RFC3339Nano)}
	b, _ := json.Marshal(m)
	r.sent = append(r.sent, b)
	for i, c := range r.conns {
		if fs.dropEvery > 0 && i == len(r.conns)-1 && r.seq%fs.dropEvery == 0 {
			continue
		}
		c.write(b)
	}
	ib, _ := json.Marshal(map[string]any{"type": "inbox.message", "room": r.id, "last_message": map[string]any{
		"id": r.seq, "seq": r.seq, "sender_id": sender, "nickname": "n", "message": msg, "created_at": m["created_at"],
		"edited_at": nil, "deleted_at": nil}})
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, u := range r.members {
		if fs.dropInboxEvery > 0 && i == len(r.members)-1 && r.seq%fs.dropInboxEvery == 0 {
			continue
		}
		for _, in := range fs.inboxes[u] {
			in.write(ib)
		}
	}
	return m
}

func reply(ctx *fasthttp.RequestCtx, status int, v any) {
	b, _ := json.Marshal(v)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
