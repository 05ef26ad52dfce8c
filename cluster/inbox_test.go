package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// inboxFrame is what the inbox frames of this test carry.
type inboxFrame struct {
	Type        string `json:"type"`
	Room        json.RawMessage
	LastRead    int64 `json:"last_read_seq"`
	Unread      int64 `json:"unread_count"`
	LastMessage struct {
		Seq int64 `json:"seq"`
	} `json:"last_message"`
}

// roomID is the frame's room: an id, or inbox.room.add's room object.
func (f inboxFrame) roomID(t *testing.T) int64 {
	t.Helper()
	var id int64
	if json.Unmarshal(f.Room, &id) == nil {
		return id
	}
	var r struct{ ID int64 }
	if err := json.Unmarshal(f.Room, &r); err != nil {
		t.Fatalf("inbox frame room %s: %v", f.Room, err)
	}
	return r.ID
}

// dialInbox opens an inbox socket on n.
func (n chatNode) dialInbox(t *testing.T, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws%s/ws/inbox/?token=%s", n.url[4:], token), nil)
	if err != nil {
		t.Fatalf("inbox socket on %s: %v", n.url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// nextInbox reads c's next inbox frame, within 10 s.
func nextInbox(t *testing.T, c *websocket.Conn) inboxFrame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f inboxFrame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("inbox socket: %v", err)
	}
	return f
}

// TestInboxAcrossNodes keeps A's inbox socket on node 2 while everything
// happens through node 1: B makes a private room with A, posts, A marks
// it read from another device, A posts, B removes A. A's inbox on node 2
// hears each of them as an inbox socket on node 1 would: inbox.room.add,
// inbox.message, inbox.read (none for A's own post, whose inbox.message
// says it), inbox.room.remove. It runs twice: with the room running on
// node 2 (A has a room socket there too) and without.
func TestInboxAcrossNodes(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	a := account(t, nodes[0], nodes[1], "inbox-a@example.com")
	b := account(t, nodes[0], nodes[0], "inbox-b@example.com")
	var me struct{ ID int64 }
	nodes[1].call(t, "GET", "/user/v1/profile/", a, nil, 200, &me)

	for _, roomHere := range []bool{false, true} {
		inbox := nodes[1].dialInbox(t, a)
		expect := func(typ string, room int64) inboxFrame {
			t.Helper()
			f := nextInbox(t, inbox)
			if f.Type != typ || f.roomID(t) != room {
				t.Fatalf("room on node 2: %v: got %s for room %s, want %s for room %d", roomHere, f.Type, f.Room, typ, room)
			}
			return f
		}
		var room struct{ ID int64 }
		nodes[0].call(t, "POST", "/chat/v1/room/", b, map[string]any{"name": "inbox", "kind": "private", "members": []int64{me.ID}}, 201, &room)
		expect("inbox.room.add", room.ID)
		if roomHere {
			c := nodes[1].dial(t, room.ID, a, "")
			defer c.Close()
		}
		for k := range 3 {
			nodes[0].call(t, "POST", "/chat/v1/message/", b, map[string]any{"room": room.ID, "message": fmt.Sprintf("m%d", k)}, 201, nil)
			if f := expect("inbox.message", room.ID); f.LastMessage.Seq != int64(k+1) {
				t.Fatalf("inbox.message seq %d, want %d", f.LastMessage.Seq, k+1)
			}
		}
		nodes[0].call(t, "POST", fmt.Sprintf("/chat/v1/room/%d/read/", room.ID), a, map[string]any{"seq": 2}, 200, nil)
		if f := expect("inbox.read", room.ID); f.LastRead != 2 || f.Unread != 1 {
			t.Fatalf("inbox.read: last_read_seq %d, unread_count %d; want 2 and 1", f.LastRead, f.Unread)
		}
		nodes[0].call(t, "POST", "/chat/v1/message/", a, map[string]any{"room": room.ID, "message": "mine"}, 201, nil)
		expect("inbox.message", room.ID)
		nodes[0].call(t, "DELETE", fmt.Sprintf("/chat/v1/room/%d/members/%d/", room.ID, me.ID), b, nil, 204, nil)
		// No inbox.read for A's own post comes between.
		expect("inbox.room.remove", room.ID)
		_ = inbox.Close()
	}
}

// TestInboxWhileRoomsStart posts to many rooms through node 1 while a
// member's room sockets start each of them on node 2, where the member
// also has an inbox socket, and rooms stop there again 20 ms after their
// socket closes: a message applied while its room loads or stops there
// reaches the inbox once, whether the node or the room tells it.
func TestInboxWhileRoomsStart(t *testing.T) {
	const rooms, posts = 24, 12
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)), func(c *actors.Config) {
		c.RoomIdleTimeout, c.PresenceGrace = 20*time.Millisecond, time.Millisecond
	})
	a := account(t, nodes[0], nodes[1], "start-a@example.com")
	b := account(t, nodes[0], nodes[0], "start-b@example.com")
	var me struct{ ID int64 }
	nodes[1].call(t, "GET", "/user/v1/profile/", a, nil, 200, &me)
	inbox := nodes[1].dialInbox(t, a)
	ids := make([]int64, rooms)
	for i := range ids {
		var room struct{ ID int64 }
		nodes[0].call(t, "POST", "/chat/v1/room/", b, map[string]any{"name": fmt.Sprintf("start-%d", i), "kind": "private", "members": []int64{me.ID}}, 201, &room)
		ids[i] = room.ID
		if f := nextInbox(t, inbox); f.Type != "inbox.room.add" {
			t.Fatalf("got %s, want inbox.room.add", f.Type)
		}
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(2)
		posted := make(chan struct{})
		go func() { // starts the room on node 2, and lets it stop, until the posts are done
			defer wg.Done()
			url := fmt.Sprintf("ws%s/ws/chat/%d/chat/?token=%s", nodes[1].url[4:], id, a)
			for {
				select {
				case <-posted:
					return
				default:
				}
				c, _, err := websocket.DefaultDialer.Dial(url, nil)
				if err != nil {
					t.Errorf("socket to room %d: %v", id, err)
					return
				}
				time.Sleep(5 * time.Millisecond)
				_ = c.Close()
				time.Sleep(45 * time.Millisecond)
			}
		}()
		go func() { // posts through node 1 meanwhile
			defer wg.Done()
			defer close(posted)
			for k := range posts {
				body := fmt.Sprintf(`{"room": %d, "message": "m%d"}`, id, k)
				req, _ := http.NewRequest("POST", nodes[0].url+"/chat/v1/message/", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+b)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("post to room %d: %v", id, err)
					return
				}
				_ = res.Body.Close()
				if res.StatusCode != 201 {
					t.Errorf("post to room %d: %d", id, res.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	// Every message once; then a quiet spell shows no repeat follows.
	seen := map[[2]int64]int{}
	for n := 0; n < rooms*posts; {
		f := nextInbox(t, inbox)
		if f.Type != "inbox.message" {
			continue
		}
		key := [2]int64{f.roomID(t), f.LastMessage.Seq}
		if seen[key]++; seen[key] > 1 {
			t.Fatalf("inbox.message for room %d seq %d came twice", key[0], key[1])
		}
		n++
	}
	_ = inbox.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		var f inboxFrame
		if err := inbox.ReadJSON(&f); err != nil {
			break
		}
		if f.Type == "inbox.message" {
			t.Fatalf("inbox.message for room %s seq %d came twice", f.Room, f.LastMessage.Seq)
		}
	}
}
