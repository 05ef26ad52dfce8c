package actors

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// countingSink counts frames; the benchmark waits until every member has
// all of them. It stands where a socket's queue would be, so the benchmark
// measures the room alone: seq, durable write, encode once, fan-out.
type countingSink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (s *countingSink) Send(frame []byte) bool {
	if !bytes.HasPrefix(frame, chatMessagePrefix) {
		return true // presence
	}
	if s.n.Add(1) == s.want {
		close(s.done)
	}
	return true
}
func (s *countingSink) SendDroppable([]byte) bool        { return true }
func (s *countingSink) SendLater(frame []byte) bool      { return s.Send(frame) }
func (s *countingSink) SendBacklog(frames [][]byte) bool { return true }
func (s *countingSink) Close(int, string)                {}

var chatMessagePrefix = []byte(`{"type":"chat.message"`)

// BenchmarkRoomBroadcast posts b.N messages to one room of `members`
// sessions and waits until every member received every message.
func BenchmarkRoomBroadcast(b *testing.B) {
	for _, members := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) { benchBroadcast(b, members) })
	}
}

func benchBroadcast(b *testing.B, members int) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(persistence.Config{InMemory: true, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	w := store.NewWriter(persistence.WriterConfig{})
	e, err := NewEngine(Config{Store: store, Writer: w, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Shutdown(); w.Close(); _ = store.Close() })
	room := &pspb.Room{Name: "bench", Owner: 1}
	if err := e.CreateRoom(room); err != nil {
		b.Fatal(err)
	}
	sinks := make([]*countingSink, members)
	for i := range sinks {
		sinks[i] = &countingSink{want: int64(b.N), done: make(chan struct{})}
		e.OpenSession(room.Id, &pb.Sender{UserId: int64(i + 1), Email: "u@example.com", Nickname: fmt.Sprint("u", i)}, -1, 0, sinks[i])
	}
	// Joins are asynchronous: wait until the room reports every member.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.RoomState(room.Id)
		if err == nil && len(st.Online) == members {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("members did not join: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	sender := &pb.Sender{UserId: 1, Email: "u@example.com", Nickname: "u0"}
	text := string(make([]byte, 100))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		e.root.Send(e.hub, &pb.Post{Room: room.Id, Sender: sender, Text: text})
	}
	for _, s := range sinks {
		<-s.done
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)*float64(members)/el.Seconds(), "deliveries/s")
}
