package actors

import (
	"sync/atomic"

	"livechat/persistence/pb"
)

// recent is one delivered message with its encoded frame and, once a room
// detail has shown it, its REST object.
type recent struct {
	msg   *pb.Message
	frame []byte
	rest  []byte // AppendMessage(msg), made on first use
	// senders is the generation of the Senders frame and rest were
	// rendered with: once a user flips their email switch, entries are
	// rendered again when next shown (current).
	senders uint64
}

// ring keeps the last delivered messages of a room, oldest first, and
// counts the bytes they hold both for itself and in a counter shared by
// every room's ring (the engine's), so that rooms can keep their rings
// together within a budget.
type ring struct {
	buf   []recent
	start int // index of the oldest
	n     int
	bytes int64         // held by this ring's entries
	held  *atomic.Int64 // held by every ring sharing the budget
}

func newRing(size int, held *atomic.Int64) *ring {
	return &ring{buf: make([]recent, size), held: held}
}

// recentOverhead is what an entry holds beyond its strings and frames: the
// decoded message's struct and the entry itself.
const recentOverhead = 224

// entryBytes estimates the memory an entry holds.
func entryBytes(r recent) int64 {
	m := r.msg
	return int64(len(r.frame)+len(r.rest)+len(m.Text)+len(m.SenderEmail)+len(m.Nickname)+
		len(m.ProfilePicture)+len(m.ClientId)) + recentOverhead
}

func (g *ring) count(n int64) {
	g.bytes += n
	g.held.Add(n)
}

// push appends r, returning the entry it evicted (zero when none).
func (g *ring) push(r recent) (evicted recent) {
	if g.n == len(g.buf) {
		evicted = g.shift()
	}
	g.buf[(g.start+g.n)%len(g.buf)] = r
	g.n++
	g.count(entryBytes(r))
	return evicted
}

// shift removes and returns the oldest entry; the ring must not be empty.
func (g *ring) shift() recent {
	r := g.buf[g.start]
	g.buf[g.start] = recent{}
	g.start = (g.start + 1) % len(g.buf)
	g.n--
	g.count(-entryBytes(r))
	return r
}

// release gives the ring's bytes back to the shared count, when its room
// stops.
func (g *ring) release() {
	g.held.Add(-g.bytes)
	g.bytes = 0
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

// replace puts r in the place of the entry with r's seq, if kept: a
// message changed after it was delivered. It reports whether it did.
func (g *ring) replace(r recent) bool {
	if g.n == 0 {
		return false
	}
	i := r.msg.Seq - g.oldestSeq()
	if i < 0 || i >= int64(g.n) {
		return false
	}
	e := &g.buf[(g.start+int(i))%len(g.buf)]
	g.count(entryBytes(r) - entryBytes(*e))
	*e = r
	return true
}

// current returns the i-th oldest entry, its frame rendered again first
// when senders changed since it was (its REST object is then made again
// on next use).
func (g *ring) current(i int, senders *Senders) recent {
	e := &g.buf[(g.start+i)%len(g.buf)]
	if e.senders != senders.Gen() {
		g.count(-int64(len(e.frame) + len(e.rest)))
		e.frame, e.rest, e.senders = MessageFrame(e.msg, senders), nil, senders.Gen()
		g.count(int64(len(e.frame)))
	}
	return *e
}

// appendLastMessages appends up to k newest messages as a JSON array of
// REST objects, oldest first. Each message is encoded once, the first time
// it is shown (and again after senders changed): a busy room's detail
// changes with every message, but only by one message.
func (g *ring) appendLastMessages(b []byte, k int, senders *Senders) []byte {
	k = min(k, g.n)
	b = append(b, '[')
	for i := range k {
		g.current(g.n-k+i, senders)
		e := &g.buf[(g.start+g.n-k+i)%len(g.buf)]
		if e.rest == nil {
			e.rest = AppendMessage(make([]byte, 0, 128+len(e.msg.Text)+len(e.msg.SenderEmail)+len(e.msg.Nickname)), e.msg, senders)
			g.count(int64(len(e.rest)))
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.rest...)
	}
	return append(b, ']')
}
