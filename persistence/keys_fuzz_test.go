package persistence

import (
	"bytes"
	"math"
	"testing"
)

// FuzzMessageKey checks that MessageKey and ParseMessageKey are inverses
// for every valid room and seq, reject negative ones, and that key order is
// (room, seq) order, which every paging scan relies on.
func FuzzMessageKey(f *testing.F) {
	for _, seed := range [][3]int64{
		{1, 1, 2}, {7, 19, 20}, {1, 0, 1}, {256, 255, 256}, {1 << 40, 1, 1 << 33},
		{math.MaxInt64, math.MaxInt64, 0}, {0, 0, 0}, {-1, 5, 6}, {5, -1, 1}, {math.MinInt64, 1, 2},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, room, seq, other int64) {
		k := MessageKey(room, seq)
		if len(k) != messageKeyLength || !bytes.HasPrefix(k, roomMessagesPrefix(room)) {
			t.Fatalf("MessageKey(%d, %d) = %q: wrong length or prefix", room, seq, k)
		}
		r, s, ok := ParseMessageKey(k)
		if room < 0 || seq < 0 {
			if ok {
				t.Fatalf("ParseMessageKey accepted the key of negative (%d, %d)", room, seq)
			}
			return
		}
		if !ok || r != room || s != seq {
			t.Fatalf("ParseMessageKey(MessageKey(%d, %d)) = %d, %d, %v", room, seq, r, s, ok)
		}
		if other < 0 {
			return
		}
		// Within a room, byte order is seq order.
		if got, want := bytes.Compare(k, MessageKey(room, other)), cmpInt(seq, other); got != want {
			t.Fatalf("seq %d vs %d: keys compare %d, want %d", seq, other, got, want)
		}
		// Across rooms, every key of a lower room sorts first.
		if got, want := bytes.Compare(k, MessageKey(other, seq)), cmpInt(room, other); got != want {
			t.Fatalf("room %d vs %d: keys compare %d, want %d", room, other, got, want)
		}
	})
}

// FuzzParseMessageKey feeds arbitrary bytes: ParseMessageKey never panics,
// and what it accepts is exactly a key MessageKey produces.
func FuzzParseMessageKey(f *testing.F) {
	for _, seed := range [][]byte{
		MessageKey(1, 1), MessageKey(7, 19), MessageKey(math.MaxInt64, math.MaxInt64), MessageKey(0, 0),
		MessageKey(-1, 1), roomMessagesPrefix(3), clientIDKey(1, 2, "c-1"), userKey(1), roomKey(9),
		[]byte("m/"), []byte("m/\x00\x00\x00\x00\x00\x00\x00\x01/"), {}, []byte("meta/next/message"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, k []byte) {
		room, seq, ok := ParseMessageKey(k)
		if !ok {
			if room != 0 || seq != 0 {
				t.Fatalf("rejected key %q returned %d, %d", k, room, seq)
			}
			return
		}
		if room < 0 || seq < 0 {
			t.Fatalf("key %q parsed to negative %d, %d", k, room, seq)
		}
		if again := MessageKey(room, seq); !bytes.Equal(again, k) {
			t.Fatalf("key %q parsed to %d, %d, which encodes as %q", k, room, seq, again)
		}
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
