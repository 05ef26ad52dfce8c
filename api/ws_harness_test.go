package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// wsReadTimeout bounds every read a test makes: far above what loopback
// needs, so only a real failure trips it.
const wsReadTimeout = 10 * time.Second

// wsTestServer is a real LiveChat front end on 127.0.0.1:0: an in-memory
// Badger store, its writer, the actor engine and the fasthttp server, wired
// as cmd/livechat/serve.go wires them.
type wsTestServer struct {
	srv    *Server
	engine *actors.Engine
	store  *persistence.Store
	writer *persistence.Writer
	addr   string // host:port

	users    atomic.Int64
	stopOnce sync.Once
}

// newWSTestServer starts a server; configure may change either component's
// configuration before it starts. Rate limits default to high values so that
// tests that do not measure them are not slowed by them.
func newWSTestServer(t testing.TB, configure func(*Config, *actors.Config)) *wsTestServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(persistence.Config{InMemory: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	writer := store.NewWriter(persistence.WriterConfig{})
	apiCfg := Config{Secret: []byte("ws-test-secret-0123456789abcdefghij"), BcryptCost: 4, Logger: log,
		MessageRate: 10_000, MessageBurst: 10_000, RoomRate: 10_000, RegisterRate: 10_000}
	var actorCfg actors.Config
	if configure != nil {
		configure(&apiCfg, &actorCfg)
	}
	actorCfg.Store, actorCfg.Writer, actorCfg.Logger = store, writer, log
	engine, err := actors.NewEngine(actorCfg)
	if err != nil {
		writer.Close()
		_ = store.Close()
		t.Fatal(err)
	}
	srv, err := New(apiCfg, store, engine)
	if err != nil {
		engine.Shutdown()
		writer.Close()
		_ = store.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &wsTestServer{srv: srv, engine: engine, store: store, writer: writer, addr: ln.Addr().String()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ts.shutdown(t)
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ts
}

// shutdown stops the server in serve.go's order: sockets (1001), actors,
// writer. The store stays open for inspection until the test ends.
func (ts *wsTestServer) shutdown(t testing.TB) {
	t.Helper()
	ts.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		ts.engine.Shutdown()
		ts.writer.Close()
	})
}

// wsUser is an account with a valid access token.
type wsUser struct {
	id       int64
	email    string
	nickname string
	token    string
}

// newUser stores an account directly (no password hashing) and issues it a
// token the way login does.
func (ts *wsTestServer) newUser(t testing.TB, nickname string) *wsUser {
	t.Helper()
	n := ts.users.Add(1)
	u := &pspb.User{Email: fmt.Sprintf("user%d@example.com", n), Nickname: nickname, DateJoinedUs: time.Now().UnixMicro()}
	if err := ts.store.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	token, _, err := ts.srv.tokens.issue(accessToken, u.Id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &wsUser{id: u.Id, email: u.Email, nickname: nickname, token: token}
}

// newRoom stores a room owned by owner and returns its id.
func (ts *wsTestServer) newRoom(t testing.TB, owner *wsUser) int64 {
	t.Helper()
	r := &pspb.Room{Name: "room", Owner: owner.id, CreatedAtUs: time.Now().UnixMicro()}
	if err := ts.store.CreateRoom(r); err != nil {
		t.Fatal(err)
	}
	return r.Id
}

// wsURL is the socket URL of room with an optional raw query.
func (ts *wsTestServer) wsURL(room int64, query string) string {
	u := "ws://" + ts.addr + "/ws/chat/" + strconv.FormatInt(room, 10) + "/chat/"
	if query != "" {
		u += "?" + query
	}
	return u
}

// dialWS opens a socket without judging the outcome.
func (ts *wsTestServer) dialWS(url string, header http.Header, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: wsReadTimeout, Subprotocols: subprotocols}
	return d.Dial(url, header)
}

// dial opens u's socket to room with ?token= plus extra query, and fails the
// test if the handshake does not succeed.
func (ts *wsTestServer) dial(t testing.TB, u *wsUser, room int64, extraQuery string) *wsClient {
	t.Helper()
	q := "token=" + u.token
	if extraQuery != "" {
		q += "&" + extraQuery
	}
	conn, resp, err := ts.dialWS(ts.wsURL(room, q), nil)
	if err != nil {
		t.Fatalf("dial room %d as %s: %v (%s)", room, u.nickname, err, wsResponseBody(resp))
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &wsClient{conn: conn, user: u}
}

// wsResponseBody is a refused handshake's status and body, for messages.
func wsResponseBody(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b)
}

// rest makes a REST call with u's token; body is encoded as JSON unless nil.
func (ts *wsTestServer) rest(t testing.TB, method, path string, u *wsUser, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+ts.addr+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if u != nil {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	client := http.Client{Timeout: wsReadTimeout}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// online is the room detail's "online" list.
func (ts *wsTestServer) online(t testing.TB, u *wsUser, room int64) []string {
	t.Helper()
	status, body := ts.rest(t, "GET", "/chat/v1/room/"+strconv.FormatInt(room, 10)+"/", u, nil)
	if status != http.StatusOK {
		t.Fatalf("room detail: %d %s", status, body)
	}
	var d struct {
		Online []string `json:"online"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d.Online
}

// waitOnline polls the room detail until its online list is want.
func (ts *wsTestServer) waitOnline(t testing.TB, u *wsUser, room int64, want ...string) {
	t.Helper()
	wsEventually(t, wsReadTimeout, func() error {
		if got := ts.online(t, u, room); !slices.Equal(got, want) {
			return fmt.Errorf("online %q, want %q", got, want)
		}
		return nil
	})
}

// wsFrame is one server frame, decoded, with its raw bytes.
type wsFrame struct {
	raw               []byte
	Type              string  `json:"type"`
	Message           string  `json:"message"`
	Sender            string  `json:"sender"`
	Nickname          string  `json:"nickname"`
	ProfilePictureURL *string `json:"profile_picture_url"`
	ID                int64   `json:"id"`
	Room              int64   `json:"room"`
	Seq               int64   `json:"seq"`
	CreatedAt         string  `json:"created_at"`
	Username          string  `json:"username"`
	ErrorType         string  `json:"error_type"`
	SenderID          int64   `json:"sender_id"`
	Rev               int64   `json:"rev"`
	EditedAt          *string `json:"edited_at"`
	DeletedAt         *string `json:"deleted_at"`
	DeletedBy         *int64  `json:"deleted_by"`
}

func (f wsFrame) String() string { return string(f.raw) }

// wsClient is one test socket. Like any gorilla connection it allows one
// concurrent reader and one concurrent writer.
type wsClient struct {
	conn *websocket.Conn
	user *wsUser
}

// read returns the next frame, or the error that ended the connection.
func (c *wsClient) read(timeout time.Duration) (wsFrame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	kind, data, err := c.conn.ReadMessage()
	if err != nil {
		return wsFrame{}, err
	}
	if kind != websocket.TextMessage {
		return wsFrame{}, fmt.Errorf("server sent a frame of kind %d", kind)
	}
	f := wsFrame{raw: data}
	if err := json.Unmarshal(data, &f); err != nil {
		return wsFrame{}, fmt.Errorf("server frame is not JSON: %v: %q", err, data)
	}
	return f, nil
}

// next returns the next frame or fails the test.
func (c *wsClient) next(t testing.TB) wsFrame {
	t.Helper()
	f, err := c.read(wsReadTimeout)
	if err != nil {
		t.Fatalf("%s: read: %v", c.user.nickname, err)
	}
	return f
}

// messages returns the next n chat.message frames, skipping presence.
func (c *wsClient) messages(t testing.TB, n int) []wsFrame {
	t.Helper()
	out := make([]wsFrame, 0, n)
	for len(out) < n {
		f := c.next(t)
		switch f.Type {
		case "chat.message":
			out = append(out, f)
		case "chat.user.join", "chat.user.leave":
		default:
			t.Fatalf("%s: unexpected frame %s", c.user.nickname, f)
		}
	}
	return out
}

// until returns every frame up to and including the chat.message whose text
// is marker.
func (c *wsClient) until(t testing.TB, marker string) []wsFrame {
	t.Helper()
	var out []wsFrame
	for {
		f := c.next(t)
		out = append(out, f)
		if f.Type == "chat.message" && f.Message == marker {
			return out
		}
	}
}

// send writes a chat.message frame.
func (c *wsClient) send(t testing.TB, text string) {
	t.Helper()
	c.sendFrame(t, map[string]any{"type": "chat.message", "message": text})
}

// sendFrame writes v as a JSON text frame.
func (c *wsClient) sendFrame(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	c.sendRaw(t, websocket.TextMessage, b)
}

// sendRaw writes one frame of kind as is.
func (c *wsClient) sendRaw(t testing.TB, kind int, data []byte) {
	t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
	if err := c.conn.WriteMessage(kind, data); err != nil {
		t.Fatalf("%s: write: %v", c.user.nickname, err)
	}
}

// expectClose reads until the connection ends and checks the close code the
// server sent.
func (c *wsClient) expectClose(t testing.TB, code int) {
	t.Helper()
	for {
		_, err := c.read(wsReadTimeout)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: connection ended with %v, want close %d", c.user.nickname, err, code)
		}
		if ce.Code != code {
			t.Fatalf("%s: closed with %d %q, want %d", c.user.nickname, ce.Code, ce.Text, code)
		}
		return
	}
}

// closeNormally sends a close frame and waits for the server's answer.
func (c *wsClient) closeNormally(t testing.TB) {
	t.Helper()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wsReadTimeout)); err != nil {
		t.Fatalf("%s: write close: %v", c.user.nickname, err)
	}
	for {
		if _, err := c.read(wsReadTimeout); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("%s: close: %v", c.user.nickname, err)
			}
			_ = c.conn.Close()
			return
		}
	}
}

// wsEventually polls f until it returns nil or timeout passes.
func wsEventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wsCheckSeqs checks that frames are chat messages with seqs from, from+1, …
// and returns the last seq.
func wsCheckSeqs(t testing.TB, who string, frames []wsFrame, from int64) int64 {
	t.Helper()
	want := from
	for i, f := range frames {
		if f.Type != "chat.message" || f.Seq != want {
			t.Fatalf("%s: frame %d is %s, want chat.message seq %d", who, i, f, want)
		}
		want++
	}
	return want - 1
}

// clientFrame is one masked client frame: op is the first byte (FIN and
// opcode), the payload masked with the key 1, 2, 3, 4.
func clientFrame(op byte, payload []byte) []byte {
	f := []byte{op}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, 1, 2, 3, 4)
	for i, b := range payload {
		f = append(f, b^byte(i%4+1))
	}
	return f
}
