package actors

import (
	"math/rand/v2"
	"testing"
	"time"

	"livechat/persistence/pb"
)

func TestAppendTimeMatchesLayout(t *testing.T) {
	cases := []int64{0, 1, 999, 1000, -1, 1_795_000_000_123_456, 253402300799999999, 253402300800000000, -62135596800000000, -62135596800000001}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		cases = append(cases, rng.Int64N(4e17)-1e17)
	}
	for _, us := range cases {
		want := time.UnixMicro(us).UTC().Format(TimeLayout)
		if got := string(AppendTime([]byte("x"), us)); got != "x"+want {
			t.Fatalf("AppendTime(%d) = %q, want %q", us, got[1:], want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTime(buf[:0], 1_795_000_000_123_456)
	}
}

// BenchmarkMessageFrame encodes a typical live chat.message frame: the one
// encoding each new message costs, shared by every recipient.
func BenchmarkMessageFrame(b *testing.B) {
	m := &pb.Message{Id: 981, Room: 7, Seq: 58, Rev: 64, CreatedRev: 64, SenderId: 3, SenderEmail: "kim@example.com",
		Nickname: "김민수", Text: "내일 3시에 볼까요? 장소는 역 앞 카페로 하죠.", CreatedAtUs: 1_795_000_000_123_456}
	b.ReportAllocs()
	for b.Loop() {
		_ = MessageFrame(m, nil)
	}
}
