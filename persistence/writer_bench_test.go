package persistence

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// BenchmarkWriter measures durable messages/s through the group-commit
// writer, on disk, with many rooms appending at once (each room has at most
// `inflight` messages waiting, as a busy room actor would).
func BenchmarkWriter(b *testing.B) {
	for _, d := range []Durability{DurabilityFsync, DurabilityOS} {
		for _, rooms := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("durability=%s/rooms=%d", d, rooms), func(b *testing.B) {
				benchWriter(b, d, rooms)
			})
		}
	}
}

func benchWriter(b *testing.B, d Durability, rooms int) {
	s, err := Open(Config{Dir: b.TempDir(), Durability: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w := s.NewWriter(WriterConfig{})
	defer w.Close()
	const inflight = 64
	text := string(make([]byte, 100))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + rooms - 1) / rooms
	for r := 1; r <= rooms; r++ {
		wg.Add(1)
		go func(room int64) {
			defer wg.Done()
			slots := make(chan struct{}, inflight)
			for seq := int64(1); seq <= int64(per); seq++ {
				slots <- struct{}{}
				m := &pb.Message{Id: s.NextMessageID(), Room: room, Seq: seq, SenderId: 1, SenderEmail: "u@example.com", Nickname: "n", Text: text, CreatedAtUs: time.Now().UnixMicro()}
				w.Append([]*pb.Message{m}, func(err error) {
					if err != nil {
						b.Error(err)
					}
					<-slots
				})
			}
			for range inflight {
				slots <- struct{}{}
			}
		}(int64(r))
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(per*rooms)/el.Seconds(), "msgs/s")
}
