package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
	"livechat/api"
	"livechat/persistence"
)

// chatNode is one node of an in-process cluster: a store replica, its
// engine and its HTTP front end on 127.0.0.1:0.
type chatNode struct {
	url  string
	node *Node
	// stop takes the node out at once: its front end, engine and log.
	stop func()
}

var chatSecret = []byte("livechat-cluster-test-secret-0123456789")

// chatNodes starts LiveChat on every node of an embedded cluster; each
// tune, if any, adjusts every node's engine configuration.
func chatNodes(t *testing.T, nodes []*Node, tune ...func(*actors.Config)) []chatNode {
	t.Helper()
	out := make([]chatNode, len(nodes))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i, st := range replicas(t, nodes) {
		writer := st.NewWriter(persistence.WriterConfig{})
		cfg := actors.Config{Store: st, Writer: writer, Logger: log, Bus: nodes[i].Bus()}
		for _, f := range tune {
			f(&cfg)
		}
		engine, err := actors.NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := api.New(api.Config{Secret: chatSecret, BcryptCost: 4, Logger: log,
			LoginRate: 1e6, RegisterRate: 1e6, RoomRate: 1e6, MessageRate: 1e6, MessageBurst: 1e6}, st, engine)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				nodes[i].Close()
				_ = srv.Shutdown(ctx)
				engine.Shutdown()
				writer.Close()
			})
		}
		t.Cleanup(stop)
		out[i] = chatNode{url: "http://" + ln.Addr().String(), node: nodes[i], stop: stop}
	}
	return out
}

// call sends a JSON request and decodes the JSON answer into out (when
// not nil), failing the test on a status other than want.
func (n chatNode) call(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s on %s: %d %s, want %d", method, path, n.url, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// account registers email through n and logs in through m.
func account(t *testing.T, n, m chatNode, email string) string {
	t.Helper()
	n.call(t, "POST", "/user/v1/register/", "", map[string]string{"email": email, "password1": "correct-horse-battery",
		"password2": "correct-horse-battery", "nickname": strings.Split(email, "@")[0]}, 201, nil)
	var login struct{ Access string }
	m.call(t, "POST", "/user/v1/login/", "", map[string]string{"email": email, "password": "correct-horse-battery"}, 200, &login)
	return login.Access
}

// dial opens a socket to room on n as the owner of token.
func (n chatNode) dial(t *testing.T, room int64, token, query string) *websocket.Conn {
	t.Helper()
	url := fmt.Sprintf("ws%s/ws/chat/%d/chat/?token=%s%s", n.url[4:], room, token, query)
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("socket on %s: %v", n.url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	return c
}

type wireMessage struct {
	Type     string `json:"type"`
	Message  string `json:"message"`
	Seq      int64  `json:"seq"`
	ID       int64  `json:"id"`
	ClientID string `json:"client_id"`
}

// TestChatAcrossNodes opens a socket to one room on each of three nodes,
// posts through every node over REST and over the sockets at once, and
// checks that every socket sees every message once in one seq order, that
// history is the same on every node, and that a client_id resend through
// another node returns the original.
func TestChatAcrossNodes(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	tokens := make([]string, 3)
	for i := range nodes {
		tokens[i] = account(t, nodes[i], nodes[(i+1)%3], fmt.Sprintf("user%d@example.com", i))
	}
	var room struct{ ID int64 }
	nodes[2].call(t, "POST", "/chat/v1/room/", tokens[2], map[string]any{"name": "across"}, 201, &room)

	socks := make([]*websocket.Conn, 3)
	for i, n := range nodes {
		url := fmt.Sprintf("ws%s/ws/chat/%d/chat/?token=%s", n.url[4:], room.ID, tokens[i])
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("socket on node %d: %v", i+1, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		socks[i] = c
	}

	const perNode = 20 // each node: perNode over REST and perNode over its socket
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			for k := range perNode {
				n.call(t, "POST", "/chat/v1/message/", tokens[i], map[string]any{"room": room.ID, "message": fmt.Sprintf("rest %d/%d", i, k)}, 201, nil)
			}
		})
		for k := range perNode {
			frame := map[string]string{"type": "chat.message", "message": fmt.Sprintf("ws %d/%d", i, k), "client_id": fmt.Sprintf("c%d-%d", i, k)}
			if err := socks[i].WriteJSON(frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()

	const total = 3 * 2 * perNode
	var seen [3][]wireMessage
	for i, c := range socks {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for len(seen[i]) < total {
			var m wireMessage
			if err := c.ReadJSON(&m); err != nil {
				t.Fatalf("socket %d after %d messages: %v", i+1, len(seen[i]), err)
			}
			if m.Type == "chat.message" {
				seen[i] = append(seen[i], m)
			}
		}
	}
	for i := range seen {
		for k, m := range seen[i] {
			if m.Seq != int64(k+1) {
				t.Fatalf("socket %d: message %d has seq %d", i+1, k+1, m.Seq)
			}
			if m != seen[0][k] {
				t.Fatalf("socket %d saw %+v at %d, socket 1 %+v", i+1, m, k+1, seen[0][k])
			}
		}
	}

	// user0's resend of a stored client_id through node 3 must return the
	// original; user1 sending user0's client_id is a different sender, so
	// a new message.
	var original wireMessage
	for _, m := range seen[0] {
		if m.Message == "ws 0/3" {
			original = m
		}
	}
	resend := nodes[2].dial(t, room.ID, tokens[0], "")
	if err := resend.WriteJSON(map[string]string{"type": "chat.message", "message": "again", "client_id": "c0-3"}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, resend); m != original {
		t.Fatalf("a resend through another node answered %+v, want the original %+v", m, original)
	}
	if err := socks[1].WriteJSON(map[string]string{"type": "chat.message", "message": "again", "client_id": "c0-3"}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, resend); m.Message != "again" || m.Seq != total+1 {
		t.Fatalf("another sender's message with the same client_id: %+v, want a new message", m)
	}

	for i, n := range nodes {
		var hist []wireMessage
		n.call(t, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/?limit=200", room.ID), tokens[i], nil, 200, &hist)
		if len(hist) != total+1 {
			t.Fatalf("node %d history: %d messages, want %d", i+1, len(hist), total+1)
		}
		for k, m := range hist[:total] {
			if m.Seq != int64(k+1) || m.Message != seen[0][k].Message || m.ID != seen[0][k].ID {
				t.Fatalf("node %d history at %d: %+v, the sockets saw %+v", i+1, k+1, m, seen[0][k])
			}
		}
	}
}

// nextMessage reads c's next chat.message.
func nextMessage(t *testing.T, c *websocket.Conn) wireMessage {
	t.Helper()
	for {
		var m wireMessage
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("read: %v", err)
		}
		if m.Type == "chat.message" {
			return m
		}
	}
}

type wireEvent struct {
	Type     string `json:"type"`
	Username string `json:"username"`
	UserID   int64  `json:"user_id"`
	Typing   bool   `json:"typing"`
}

// next reads c's next frame of one of types.
func next(t *testing.T, c *websocket.Conn, types ...string) wireEvent {
	t.Helper()
	for {
		var ev wireEvent
		if err := c.ReadJSON(&ev); err != nil {
			t.Fatalf("read: %v", err)
		}
		if slices.Contains(types, ev.Type) {
			return ev
		}
	}
}

// TestPresenceAcrossNodes checks that join and leave are announced once
// per user across nodes, that the online list spans nodes, and that typing
// reaches sockets on other nodes.
func TestPresenceAcrossNodes(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	watcher := account(t, nodes[0], nodes[0], "watcher@example.com")
	mover := account(t, nodes[1], nodes[2], "mover@example.com")
	var room struct{ ID int64 }
	nodes[0].call(t, "POST", "/chat/v1/room/", watcher, map[string]any{"name": "presence"}, 201, &room)

	w := nodes[0].dial(t, room.ID, watcher, "&events=typing")
	presence := []string{"chat.user.join", "chat.user.leave"}
	m2 := nodes[1].dial(t, room.ID, mover, "")
	if ev := next(t, w, presence...); ev != (wireEvent{Type: "chat.user.join", Username: "mover"}) {
		t.Fatalf("a join on node 2 seen on node 1 as %+v", ev)
	}
	m3 := nodes[2].dial(t, room.ID, mover, "")

	// The online list of any node holds both, once each.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var detail struct{ Online []string }
		nodes[2].call(t, "GET", fmt.Sprintf("/chat/v1/room/%d/", room.ID), mover, nil, 200, &detail)
		if slices.Equal(detail.Online, []string{"watcher", "mover"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("online on node 3: %v", detail.Online)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := m2.WriteJSON(map[string]any{"type": "chat.typing", "typing": true}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w, append(presence, "chat.typing")...); ev.Type != "chat.typing" || !ev.Typing {
		t.Fatalf("typing on node 2 seen on node 1 as %+v", ev)
	}

	// Closing one of mover's two sockets announces nothing; closing the
	// other announces one leave, on node 1 too, after the grace.
	_ = m2.Close()
	_ = m3.Close()
	if ev := next(t, w, presence...); ev != (wireEvent{Type: "chat.user.leave", Username: "mover"}) {
		t.Fatalf("after mover's last socket closed, node 1 saw %+v", ev)
	}
}

// TestChangesAcrossNodes edits and deletes a message through other nodes
// than the one it was posted to, and hides an account's email through a
// third: every node's sockets and reads show each change.
func TestChangesAcrossNodes(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	token := account(t, nodes[0], nodes[1], "editor@example.com")
	var room struct{ ID int64 }
	nodes[0].call(t, "POST", "/chat/v1/room/", token, map[string]any{"name": "edits"}, 201, &room)
	watch := nodes[1].dial(t, room.ID, token, "&events=edit")

	var msg struct {
		ID     int64
		Seq    int64
		Sender string
	}
	nodes[0].call(t, "POST", "/chat/v1/message/", token, map[string]any{"room": room.ID, "message": "first"}, 201, &msg)
	if m := nextMessage(t, watch); m.Seq != msg.Seq || m.Message != "first" {
		t.Fatalf("node 2 socket: %+v", m)
	}
	nodes[2].call(t, "PATCH", fmt.Sprintf("/chat/v1/message/%d/", msg.ID), token, map[string]any{"message": "edited"}, 200, nil)
	var ev struct {
		Type    string
		Seq     int64
		Message string
	}
	for ev.Type != "chat.message.update" {
		if err := watch.ReadJSON(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if ev.Seq != msg.Seq || ev.Message != "edited" {
		t.Fatalf("an edit through node 3 seen on node 2 as %+v", ev)
	}
	nodes[0].call(t, "DELETE", fmt.Sprintf("/chat/v1/message/%d/", msg.ID), token, nil, 204, nil)
	for ev.Type != "chat.message.delete" {
		if err := watch.ReadJSON(&ev); err != nil {
			t.Fatal(err)
		}
	}
	var got struct {
		Message   string
		DeletedAt *string `json:"deleted_at"`
		Sender    string
	}
	nodes[1].call(t, "GET", fmt.Sprintf("/chat/v1/message/%d/", msg.ID), token, nil, 200, &got)
	if got.Message != "" || got.DeletedAt == nil {
		t.Fatalf("node 2 shows the deleted message as %+v", got)
	}
	// A deleted message cannot be edited, whichever node is asked.
	nodes[1].call(t, "PATCH", fmt.Sprintf("/chat/v1/message/%d/", msg.ID), token, map[string]any{"message": "again"}, 400, nil)

	var me struct{ ID int64 }
	nodes[2].call(t, "PATCH", "/user/v1/profile/", token, map[string]any{"hide_email": true}, 200, &me)
	// History waits for the node to apply what was acknowledged before
	// it; a message read by id shows the change once its node applied it.
	want := fmt.Sprintf("user-%d", me.ID)
	for i, n := range nodes {
		var hist []struct{ Sender string }
		n.call(t, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/", room.ID), token, nil, 200, &hist)
		if len(hist) != 1 || hist[0].Sender != want {
			t.Fatalf("node %d history renders the sender as %+v after hide_email through node 3, want %q", i+1, hist, want)
		}
		n.call(t, "GET", fmt.Sprintf("/chat/v1/message/%d/", msg.ID), token, nil, 200, &got)
		if got.Sender != want {
			t.Fatalf("node %d renders the sender as %q after hide_email through node 3, want %q", i+1, got.Sender, want)
		}
	}
}

// TestPictureAcrossNodes uploads a profile picture through one node and
// fetches it from another.
func TestPictureAcrossNodes(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 2)))
	token := account(t, nodes[0], nodes[0], "painter@example.com")
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var file bytes.Buffer
	if err := png.Encode(&file, img); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("profile_picture", "me.png")
	_, _ = part.Write(file.Bytes())
	_ = w.Close()
	req, _ := http.NewRequest("PATCH", nodes[0].url+"/user/v1/profile/", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		URL string `json:"profile_picture_url"`
	}
	err = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || me.URL == "" {
		t.Fatalf("upload: %d %v %+v", res.StatusCode, err, me)
	}
	got, err := http.Get(nodes[1].url + me.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || len(b) == 0 {
		t.Fatalf("the picture from the other node: %d, %d bytes", got.StatusCode, len(b))
	}
}

// TestSocketOrderAcrossNodes checks that the messages one socket sends
// without waiting for their echoes keep their order in the room's log,
// as every node's sockets and history show it, while sockets of other
// nodes post to the same room.
func TestSocketOrderAcrossNodes(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	tokens := make([]string, 3)
	for i := range nodes {
		tokens[i] = account(t, nodes[i], nodes[(i+1)%3], fmt.Sprintf("order%d@example.com", i))
	}
	var room struct{ ID int64 }
	nodes[0].call(t, "POST", "/chat/v1/room/", tokens[0], map[string]any{"name": "order"}, 201, &room)
	socks := make([]*websocket.Conn, 3)
	for i, n := range nodes {
		socks[i] = n.dial(t, room.ID, tokens[i], "")
	}

	const each = 150
	var wg sync.WaitGroup
	for i, c := range socks {
		wg.Go(func() {
			for k := range each {
				if err := c.WriteJSON(map[string]string{"type": "chat.message", "message": fmt.Sprintf("%d %d", i, k)}); err != nil {
					t.Errorf("socket %d: %v", i+1, err)
					return
				}
			}
		})
	}
	wg.Wait()

	// inOrder checks that each socket's messages follow one another in
	// msgs, from the first of them msgs holds.
	inOrder := func(where string, msgs []wireMessage, first bool) {
		t.Helper()
		last := []int{-1, -1, -1}
		seen := []bool{first, first, first}
		for _, m := range msgs {
			var i, k int
			if _, err := fmt.Sscanf(m.Message, "%d %d", &i, &k); err != nil || i < 0 || i > 2 {
				t.Fatalf("%s: unexpected message %q", where, m.Message)
			}
			if seen[i] && k != last[i]+1 {
				var got []string
				for _, m := range msgs {
					got = append(got, fmt.Sprintf("%d:%s", m.Seq, m.Message))
				}
				t.Fatalf("%s: socket %d's message %d follows its message %d; all: %v", where, i+1, k, last[i], got)
			}
			last[i], seen[i] = k, true
		}
	}
	for i, c := range socks {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		var seen []wireMessage
		for len(seen) < 3*each {
			seen = append(seen, nextMessage(t, c))
		}
		inOrder(fmt.Sprintf("socket on node %d", i+1), seen, true)
	}
	for i, n := range nodes {
		var hist []wireMessage
		n.call(t, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/?limit=200", room.ID), tokens[i], nil, 200, &hist)
		if len(hist) != 200 || hist[199].Seq != 3*each {
			t.Fatalf("node %d history: %d messages, want the last 200", i+1, len(hist))
		}
		inOrder(fmt.Sprintf("node %d history", i+1), hist, false)
	}
}
