package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestFanOutOncePerNode posts the same number of messages into a room
// with one socket on each of three nodes and into a room with twenty on
// each, and compares what crossed between the nodes per message: a
// message must cross to each node once, not once per member, so the big
// room costs the nodes' routes no more than the small one (give or take
// the cluster's own heartbeats meanwhile). Every socket must also get
// every message.
func TestFanOutOncePerNode(t *testing.T) {
	raw := startAll(t, testCluster(t, 3))
	nodes := chatNodes(t, raw)
	tokens := make([]string, 3)
	for i := range nodes {
		tokens[i] = account(t, nodes[i], nodes[(i+1)%3], fmt.Sprintf("fanout%d@example.com", i))
	}
	perMessage := func(name string, perNode int) float64 {
		t.Helper()
		var room struct{ ID int64 }
		nodes[0].call(t, "POST", "/chat/v1/room/", tokens[0], map[string]any{"name": name}, 201, &room)
		var socks []*websocket.Conn
		for i, n := range nodes {
			for range perNode {
				socks = append(socks, n.dial(t, room.ID, tokens[i], ""))
			}
		}
		// The sockets' joins and presence settle before counting.
		time.Sleep(500 * time.Millisecond)
		const posts = 100
		before := totalRouteMsgs(t, raw)
		for k := range posts {
			nodes[k%3].call(t, "POST", "/chat/v1/message/", tokens[k%3],
				map[string]any{"room": room.ID, "message": fmt.Sprintf("m%d", k)}, 201, nil)
		}
		for i, c := range socks {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for k := range posts {
				if m := nextMessage(t, c); m.Message != fmt.Sprintf("m%d", k) {
					t.Fatalf("%s socket %d: message %d is %q", name, i, k, m.Message)
				}
			}
		}
		per := float64(totalRouteMsgs(t, raw)-before) / posts
		t.Logf("%s: %d sockets over 3 nodes: %.2f inter-node messages per chat message", name, len(socks), per)
		return per
	}
	small := perMessage("small", 1)
	big := perMessage("big", 20)
	// Once per member would add about 57 crossings per message here.
	if big > 1.5*small+2 {
		t.Fatalf("a room of 60 sockets costs %.2f inter-node messages per chat message, one of 3 costs %.2f: the fan-out crosses per member", big, small)
	}
}

// totalRouteMsgs is what every node's NATS server sent the others so far.
func totalRouteMsgs(t *testing.T, nodes []*Node) int64 {
	t.Helper()
	var n int64
	for _, node := range nodes {
		rt, ok := node.RouteTraffic()
		if !ok {
			t.Fatal("no route counters: the node runs no embedded NATS")
		}
		n += rt.MsgsOut
	}
	return n
}
