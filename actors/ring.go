package actors

import "livechat/persistence/pb"

// recent is one delivered message with its encoded frame.
type recent struct {
	msg   *pb.Message
	frame []byte
}

// ring keeps the last delivered messages of a room, oldest first.
type ring struct {
	buf   []recent
	start int // index of the oldest
	n     int
}

func newRing(size int) *ring { return &ring{buf: make([]recent, size)} }

// push appends r, returning the entry it evicted (zero when none).
func (g *ring) push(r recent) (evicted recent) {
	i := (g.start + g.n) % len(g.buf)
	if g.n == len(g.buf) {
		evicted = g.buf[g.start]
		g.start = (g.start + 1) % len(g.buf)
	} else {
		g.n++
	}
	g.buf[i] = r
	return evicted
}

func (g *ring) len() int { return g.n }

// at returns the i-th oldest entry.
func (g *ring) at(i int) recent { return g.buf[(g.start+i)%len(g.buf)] }

// oldestSeq is the seq of the oldest entry, 0 when empty.
func (g *ring) oldestSeq() int64 {
	if g.n == 0 {
		return 0
	}
	return g.at(0).msg.Seq
}

// find returns the entry with seq, if kept.
func (g *ring) find(seq int64) (recent, bool) {
	if g.n == 0 {
		return recent{}, false
	}
	i := seq - g.oldestSeq()
	if i < 0 || i >= int64(g.n) {
		return recent{}, false
	}
	return g.at(int(i)), true
}

// lastMessages returns up to k newest messages, oldest first.
func (g *ring) lastMessages(k int) []*pb.Message {
	k = min(k, g.n)
	out := make([]*pb.Message, k)
	for i := range k {
		out[i] = g.at(g.n - k + i).msg
	}
	return out
}
