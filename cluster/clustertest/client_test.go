package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// testPassword passes the server's password rules.
const testPassword = "correct-horse-battery"

// nodeArgs let tests register, log in and post as fast as they like.
var nodeArgs = []string{"--bcrypt-cost", "4", "--register-rate", "100000", "--login-rate", "100000",
	"--room-rate", "100000", "--member-add-rate", "100000", "--message-rate", "100000", "--message-burst", "100000"}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// reply is an HTTP answer.
type reply struct {
	status int
	body   []byte
}

// call sends a JSON request to node; token, when set, is the Bearer.
func call(n *Node, method, path, token string, body any) (reply, error) {
	return callWith(httpClient, n, method, path, token, body)
}

// callWith is call through client.
func callWith(client *http.Client, n *Node, method, path, token string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.URL()+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}, err
}

// mustCall is call that fails the test unless the status is want; it
// decodes the body into out when out is not nil.
func mustCall(t testing.TB, n *Node, method, path, token string, body any, want int, out any) {
	t.Helper()
	r, err := call(n, method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s %s: %v", n.Name(), method, path, err)
	}
	if r.status != want {
		t.Fatalf("%s %s %s: status %d, want %d: %s", n.Name(), method, path, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s %s: %v: %s", n.Name(), method, path, err, r.body)
		}
	}
}

// expectJSON fails unless r is status with the JSON body want (compared
// as values).
func expectJSON(t testing.TB, what string, r reply, status int, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != status {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, want)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("%s: body %s, want %s", what, r.body, want)
	}
}

// user is an account, logged in.
type user struct {
	ID      int64  `json:"id"`
	Email   string `json:"email"`
	Access  string `json:"-"`
	Refresh string `json:"-"`
}

var emails atomic.Int64

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s%d-%d@example.com", prefix, time.Now().UnixNano()%1e9, emails.Add(1))
}

func registerBody(email, nickname string) map[string]string {
	return map[string]string{"email": email, "password1": testPassword, "password2": testPassword, "nickname": nickname}
}

// register creates an account on n.
func register(t testing.TB, n *Node, email, nickname string) *user {
	t.Helper()
	u := &user{}
	mustCall(t, n, "POST", "/user/v1/register/", "", registerBody(email, nickname), 201, u)
	return u
}

// login logs u in on n.
func login(t testing.TB, n *Node, u *user) {
	t.Helper()
	var tokens struct{ Access, Refresh string }
	mustCall(t, n, "POST", "/user/v1/login/", "", map[string]string{"email": u.Email, "password": testPassword}, 200, &tokens)
	u.Access, u.Refresh = tokens.Access, tokens.Refresh
}

// room is a room as the API returns it.
type room struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Post  *int64 `json:"post"`
	Owner int64  `json:"owner"`
}

// message is a message as REST and sockets return it.
type message struct {
	Type    string `json:"type"`
	ID      int64  `json:"id"`
	Room    int64  `json:"room"`
	Seq     int64  `json:"seq"`
	Sender  string `json:"sender"`
	Message string `json:"message"`
}

// history is every message of room as n has it, oldest first, paged
// back from the newest.
func history(n *Node, token string, roomID int64) ([]message, error) {
	var all []message
	before := ""
	for range 10_000 { // at most 2 M messages: a bound, never reached
		r, err := call(n, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/?limit=200%s", roomID, before), token, nil)
		if err != nil {
			return nil, err
		}
		if r.status != 200 {
			return nil, fmt.Errorf("%s history: %d %s", n.Name(), r.status, r.body)
		}
		var page []message
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return all, nil
		}
		all = append(page, all...)
		before = fmt.Sprintf("&before=%d", page[0].Seq)
	}
	return nil, fmt.Errorf("%s history: too many pages", n.Name())
}

// socket is a WebSocket to a room on one node, read by a goroutine of
// its own that keeps every chat.message frame.
type socket struct {
	node *Node
	conn *websocket.Conn
	done chan struct{}
	err  error // why reading ended, once done is closed

	mu     sync.Mutex
	frames []message // every chat.message received, in order
}

// openSocket opens a socket to roomID on n with since=0, so that it gets
// every message of the room, stored ones first, whenever it joins.
func openSocket(t testing.TB, n *Node, token string, roomID int64) *socket {
	t.Helper()
	return openSocketSince(t, n, token, roomID, 0)
}

// openSocketSince opens a socket to roomID on n that resumes after seq
// since.
func openSocketSince(t testing.TB, n *Node, token string, roomID, since int64) *socket {
	t.Helper()
	u := url.URL{Scheme: "ws", Host: n.Addr(), Path: fmt.Sprintf("/ws/chat/%d/chat/", roomID),
		RawQuery: url.Values{"token": {token}, "since": {strconv.FormatInt(since, 10)}}.Encode()}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(u.String(), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: open socket (status %d): %v", n.Name(), status, err)
	}
	s := &socket{node: n, conn: conn, done: make(chan struct{})}
	t.Cleanup(func() { _ = conn.Close(); <-s.done })
	go s.read()
	return s
}

func (s *socket) read() {
	defer close(s.done)
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		_, b, err := s.conn.ReadMessage()
		if err != nil {
			s.err = err
			return
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			s.err = fmt.Errorf("frame %q: %w", b, err)
			return
		}
		if m.Type == "chat.message" {
			s.mu.Lock()
			s.frames = append(s.frames, m)
			s.mu.Unlock()
		}
	}
}

// received is a copy of the chat.message frames received so far.
func (s *socket) received() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames)
}

// send writes a chat.message frame.
func (s *socket) send(text, clientID string) error {
	b, _ := json.Marshal(map[string]string{"type": "chat.message", "message": text, "client_id": clientID})
	_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.conn.WriteMessage(websocket.TextMessage, b)
}

// closed reports whether the socket's reading ended.
func (s *socket) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
