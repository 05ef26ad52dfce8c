package cluster

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
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
