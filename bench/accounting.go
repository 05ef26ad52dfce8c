package bench

// tracker does the delivery accounting of one receiving socket: which
// (sender, n) it has seen, in which order, and the room's seq. It is used
// by one goroutine only.
//
// Senders are numbered globally as room*sendersPerRoom + k, so a receiver
// keeps a small slice indexed by k and can tell a message that belongs to
// another room (misrouted).
type tracker struct {
	room           int
	sendersPerRoom int
	senders        []senderTrack
	lastSeq        int64
	counts         deliveryCounts
}

// senderTrack is what one receiver knows of one sender.
type senderTrack struct {
	seen []uint64 // bit n set: message n received
	maxN int64    // highest n received, -1 before any
}

// deliveryCounts is the outcome of a receiver's accounting; counts add up
// across receivers.
type deliveryCounts struct {
	// Unique counts distinct (sender, n) received.
	Unique int64 `json:"unique"`
	// Duplicates counts (sender, n) received again.
	Duplicates int64 `json:"duplicates"`
	// OutOfOrder counts messages received after a later one of the same sender.
	OutOfOrder int64 `json:"out_of_order"`
	// Foreign counts bench messages from a sender of another room.
	Foreign int64 `json:"foreign"`
	// Unparsed counts chat.message frames whose text is not a bench payload.
	Unparsed int64 `json:"unparsed"`
	// Malformed counts frames that are not JSON objects.
	Malformed int64 `json:"malformed"`
	// SeqGaps counts seq numbers skipped (seq > last+1).
	SeqGaps int64 `json:"seq_gaps"`
	// SeqRegressions counts seq numbers not above the last one.
	SeqRegressions int64 `json:"seq_regressions"`
	// Refused counts a peer server's error replies (--peer): publishes it
	// refused, whose deliveries then count as lost.
	Refused int64 `json:"refused,omitempty"`
}

// add accumulates o into c.
func (c *deliveryCounts) add(o deliveryCounts) {
	c.Unique += o.Unique
	c.Duplicates += o.Duplicates
	c.OutOfOrder += o.OutOfOrder
	c.Foreign += o.Foreign
	c.Unparsed += o.Unparsed
	c.Malformed += o.Malformed
	c.SeqGaps += o.SeqGaps
	c.SeqRegressions += o.SeqRegressions
	c.Refused += o.Refused
}

// maxPerSender bounds a sender's message numbers, so that a mangled
// number cannot make a receiver allocate a huge bitmap (8 MiB at most).
const maxPerSender = 1 << 26

// newTracker returns the tracker of a receiver in room.
func newTracker(room, sendersPerRoom int) *tracker {
	t := &tracker{room: room, sendersPerRoom: sendersPerRoom, senders: make([]senderTrack, sendersPerRoom)}
	for i := range t.senders {
		t.senders[i].maxN = -1
	}
	return t
}

// observeSeq checks the room's seq: every receiver connects before the
// first message of a fresh room, so it must see 1, 2, 3 … with no gap.
func (t *tracker) observeSeq(seq int64) {
	switch {
	case seq <= t.lastSeq:
		t.counts.SeqRegressions++
		return
	case seq > t.lastSeq+1:
		t.counts.SeqGaps += seq - t.lastSeq - 1
	}
	t.lastSeq = seq
}

// warmSeq takes a warm-up message's seq as the start of the room's seq
// without counting a gap: the generator re-sends warm-up messages until
// every socket has one, so a socket the server counted late may miss the
// first ones, and the measured messages all come after.
func (t *tracker) warmSeq(f frame) {
	if f.hasSeq && f.seq > t.lastSeq {
		t.lastSeq = f.seq
	}
}

// observation is what observe made of one message.
type observation int

const (
	obsFresh     observation = iota // first delivery: its latency counts
	obsDuplicate                    // seen before by this receiver
	obsForeign                      // a sender of another room, or a mangled number
)

// observe accounts one bench message.
func (t *tracker) observe(p payload) observation {
	k := p.sender - t.room*t.sendersPerRoom
	if k < 0 || k >= t.sendersPerRoom || p.n < 0 || p.n >= maxPerSender {
		t.counts.Foreign++
		return obsForeign
	}
	s := &t.senders[k]
	word, bit := int(p.n/64), uint64(1)<<(p.n%64)
	for len(s.seen) <= word {
		s.seen = append(s.seen, 0)
	}
	if s.seen[word]&bit != 0 {
		t.counts.Duplicates++
		return obsDuplicate
	}
	s.seen[word] |= bit
	t.counts.Unique++
	if p.n < s.maxN {
		t.counts.OutOfOrder++
	} else {
		s.maxN = p.n
	}
	return obsFresh
}
