package actors

import "livechat/persistence/pb"

// recent is one delivered message with its encoded frame and, once a room
// detail has shown it, its REST object.
type recent struct {
	msg   *pb.Message
	frame []byte
	rest  []byte // AppendMessage(msg), made on first use
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

// appendLastMessages appends up to k newest messages as a JSON array of
// REST objects, oldest first. Each message is encoded once, the first time
// it is shown: a busy room's detail changes with every message, but only
// by one message.
func (g *ring) appendLastMessages(b []byte, k int) []byte {
	k = min(k, g.n)
	b = append(b, '[')
	for i := range k {
		e := &g.buf[(g.start+g.n-k+i)%len(g.buf)]
		if e.rest == nil {
			e.rest = AppendMessage(make([]byte, 0, 128+len(e.msg.Text)+len(e.msg.SenderEmail)+len(e.msg.Nickname)), e.msg)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.rest...)
	}
	return append(b, ']')
}
