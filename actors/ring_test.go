package actors

import (
	"encoding/json"
	"slices"
	"testing"

	"livechat/persistence/pb"
)

func TestRingAppendLastMessages(t *testing.T) {
	g := newRing(3)
	seqs := func(k int) []int64 {
		t.Helper()
		var got []struct{ Seq int64 }
		b := g.appendLastMessages(nil, k)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		out := []int64{}
		for _, m := range got {
			out = append(out, m.Seq)
		}
		return out
	}
	if got := seqs(2); len(got) != 0 {
		t.Fatalf("empty ring gave %v", got)
	}
	for seq := int64(1); seq <= 5; seq++ {
		m := &pb.Message{Id: seq, Room: 1, Seq: seq, Text: "t"}
		g.push(recent{msg: m, frame: MessageFrame(m)})
		want := []int64{}
		for s := max(1, seq-1); s <= seq; s++ {
			want = append(want, s)
		}
		if got := seqs(2); !slices.Equal(got, want) {
			t.Fatalf("after seq %d: last 2 = %v, want %v", seq, got, want)
		}
	}
	if got, want := seqs(10), []int64{3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("last 10 of a full ring = %v, want %v", got, want)
	}
}
