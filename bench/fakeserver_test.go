package bench

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// fakeServer is a small in-memory server that speaks the parts of
// PROTOCOL.md the load generator uses, so the package's tests can drive
// every scenario over real sockets without the real server (which this
// package must not import). The end-to-end tests against the real server
// live in cmd/livechat.
type fakeServer struct {
	mu    sync.Mutex
	users map[string]int // email → id
	rooms map[int64]*fakeRoom
	next  int64
	// dropEvery, when set, skips delivering every n-th message to the
	// last member of a room: a way to check that loss is detected.
	dropEvery int64
}

type fakeRoom struct {
	mu    sync.Mutex
	seq   int64
	conns []*fakeConn
	// sent holds every frame broadcast, by seq-1: a socket joins after its
	// 101 is written, so, like LiveChat, it first gets what was broadcast
	// since its handshake was read.
	sent [][]byte
}

type fakeConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

// startFakeServer serves on 127.0.0.1:0 until the test ends.
func startFakeServer(t testing.TB) (string, *fakeServer) {
	t.Helper()
	fs := &fakeServer{users: map[string]int{}, rooms: map[int64]*fakeRoom{}}
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
		reply(ctx, 200, map[string]any{"access": "tok-" + strconv.Itoa(id), "refresh": "r"})
	case !strings.HasPrefix(string(ctx.Request.Header.Peek("Authorization")), "Bearer tok-") &&
		!strings.HasPrefix(string(ctx.QueryArgs().Peek("token")), "tok-"):
		reply(ctx, 401, map[string]any{"detail": "Authentication credentials were not provided."})
	case path == "/chat/v1/room/":
		fs.mu.Lock()
		fs.next++
		id := fs.next
		fs.rooms[id] = &fakeRoom{}
		fs.mu.Unlock()
		reply(ctx, 201, map[string]any{"id": id, "name": "r"})
	case path == "/chat/v1/message/":
		var in struct {
			Message string `json:"message"`
			Room    int64  `json:"room"`
		}
		_ = json.Unmarshal(ctx.PostBody(), &in)
		if r := fs.room(in.Room); r != nil {
			reply(ctx, 201, r.broadcast(fs, in.Message))
			return
		}
		reply(ctx, 400, map[string]any{"room": []string{"bad"}})
	case strings.HasPrefix(path, "/chat/v1/room/"):
		reply(ctx, 200, map[string]any{"id": 1, "chat_messages": []any{}, "online": []string{}})
	case strings.HasPrefix(path, "/ws/chat/"):
		fs.upgrade(ctx, path)
	default:
		reply(ctx, 404, map[string]any{"detail": "Not found."})
	}
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
	up := websocket.FastHTTPUpgrader{}
	_ = up.Upgrade(ctx, func(c *websocket.Conn) {
		fc := &fakeConn{c: c}
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
				Message string `json:"message"`
			}
			if json.Unmarshal(b, &in) == nil && in.Message != "" {
				r.broadcast(fs, in.Message)
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

// broadcast assigns the next seq and writes the frame to every member.
func (r *fakeRoom) broadcast(fs *fakeServer, msg string) map[string]any {
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
		c.mu.Lock()
		_ = c.c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.c.WriteMessage(websocket.TextMessage, b)
		c.mu.Unlock()
	}
	return m
}

func reply(ctx *fasthttp.RequestCtx, status int, v any) {
	b, _ := json.Marshal(v)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
