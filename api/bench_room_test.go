package api

import (
	"bytes"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// BenchmarkRoomSockets measures the whole path of a chat message over real
// sockets: a member's client writes a chat.message to its WebSocket, the
// server reads and decodes it, the room stores it (in-memory Badger) and
// delivers it to every member's socket (Send, the write, the kernel), and
// every member's client reads it. Messages go one at a time, each waiting
// for all its deliveries. The write paths:
//   - write=at-once: every socket is quiet when its frame comes, and Send
//     writes it (the path of a quiet room's sockets; a 1 µs write clock
//     makes a socket quiet again 10 µs after its writes),
//   - write=goroutine: no write clock, a writer goroutine per burst,
//   - write=tick: the default 5 ms clock; back to back, every socket is busy
//     and each write waits for the tick (the path of a busy room).
//
// ns/op is one message's round; cpu-ms/1k-deliveries is the process's CPU
// (server and clients: they share it) per 1,000 deliveries.
func BenchmarkRoomSockets(b *testing.B) {
	for _, members := range []int{2, 20} {
		for _, w := range []struct {
			name  string
			delay time.Duration
		}{{"at-once", time.Microsecond}, {"goroutine", -1}, {"tick", 0}} {
			b.Run(fmt.Sprintf("members=%d/write=%s", members, w.name), func(b *testing.B) { benchRoomSockets(b, members, w.delay) })
		}
	}
}

func benchRoomSockets(b *testing.B, members int, writeDelay time.Duration) {
	ts := newWSTestServer(b, func(c *Config, _ *actors.Config) {
		c.MessageRate, c.MessageBurst = 1e9, 1e9
		c.WriteDelay = writeDelay
	})
	owner := ts.newUser(b, "owner")
	room := ts.newRoom(b, owner)
	got := make(chan struct{}, members)
	clients := make([]*wsClient, members)
	for i := range clients {
		u := owner
		if i > 0 {
			u = ts.newUser(b, "m"+strconv.Itoa(i))
		}
		clients[i] = ts.dial(b, u, room, "")
	}
	for _, c := range clients {
		go countMessages(c.conn, got)
	}
	frame := []byte(`{"type":"chat.message","message":"` + string(bytes.Repeat([]byte("x"), 100)) + `","client_id":"`)
	sender := clients[0].conn
	send := func(i int) {
		f := append(append(frame[:len(frame):len(frame)], strconv.Itoa(i)...), `"}`...)
		if err := sender.WriteMessage(websocket.TextMessage, f); err != nil {
			b.Fatal(err)
		}
		for range members {
			select {
			case <-got:
			case <-time.After(wsReadTimeout):
				b.Fatalf("message %d: not every member received it", i)
			}
		}
	}
	// Warm up: the room is loaded, and every member has joined (a member
	// not joined yet gets the message from the backlog since its handshake).
	send(-1)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := range b.N {
		send(i)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())*1000/float64(b.N*members), "cpu-ms/1k-deliveries")
}

// countMessages reads a member's socket until it ends and signals each
// chat.message.
func countMessages(c *websocket.Conn, got chan<- struct{}) {
	prefix := []byte(`{"type":"chat.message"`)
	_ = c.SetReadDeadline(time.Time{})
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if bytes.HasPrefix(data, prefix) {
			got <- struct{}{}
		}
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
