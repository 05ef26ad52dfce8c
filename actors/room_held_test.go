package actors

import (
	"fmt"
	"strings"
	"testing"

	"livechat/actors/pb"
	pspb "livechat/persistence/pb"
)

// stuckBacklogSink is a socket that never finishes reading its backlog:
// SendBacklog blocks until release is closed.
type stuckBacklogSink struct {
	roomTestSink
	release chan struct{}
}

func (s *stuckBacklogSink) SendBacklog([][]byte) bool {
	<-s.release
	return false
}

// A socket that reads its reconnect backlog too slowly does not make the
// room hold the live frames meanwhile without bound: past MaxHeldBytes it
// is closed as a slow consumer, and the room's other sockets keep getting
// every message.
func TestHeldFramesBounded(t *testing.T) {
	e, _ := roomTestEngine(t, func(c *Config) { c.MaxHeldBytes = 64 << 10 })
	stuck := &stuckBacklogSink{release: make(chan struct{})}
	t.Cleanup(func() { close(stuck.release) }) // before the engine's shutdown, which waits for the backlog

	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	r := &pspb.Room{Name: "busy", Owner: 1}
	if err := e.CreateRoom(r); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("x", 4000)
	post := func(i int) {
		t.Helper()
		if _, _, err := e.Post(&pb.Post{Room: r.Id, Sender: alice, Text: fmt.Sprint(i, text)}); err != nil {
			t.Fatal(err)
		}
	}
	post(0) // a backlog to read
	live := &roomTestSink{}
	e.OpenSession(r.Id, alice, 0, 0, live) // since 0: every message, whenever its join lands
	e.OpenSession(r.Id, alice, 0, 0, stuck)
	const n = 40 // 160 KB of live frames, past the 64 KiB held
	for i := 1; i <= n; i++ {
		post(i)
	}
	roomTestWait(t, "the stuck socket closed and the live one served", func() error {
		got, _ := live.seqs(t)
		stuck.mu.Lock()
		closed := stuck.closed
		stuck.mu.Unlock()
		if closed != CloseSlowConsumer || len(got) != n+1 {
			return fmt.Errorf("stuck socket closed with %d, want %d; live socket has %d of %d messages", closed, CloseSlowConsumer, len(got), n+1)
		}
		return nil
	})
}
