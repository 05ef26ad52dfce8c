package bench

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// warmPrefix starts the warm-up message: one per room, sent before the
// measured messages, so that sending starts only once every member is
// known to receive (a socket may be open before its room counts it).
const warmPrefix = "b1w:"

// Frame types the receivers tell apart.
const (
	chatMessageType  = "chat.message"
	chatTypingType   = "chat.typing"
	chatReadType     = "chat.read"
	chatErrorType    = "chat.error"
	inboxMessageType = "inbox.message"
)

// extras counts the typing and receipt frames of a run and says whether
// members send chat.read now. Safe for concurrent use.
type extras struct {
	readOn    atomic.Bool // members send chat.read (the phase with extras)
	readEvery time.Duration

	typingSent, typingRecv   atomic.Int64
	readsSent, receiptsRecv  atomic.Int64
	errorsRecv, readSendErrs atomic.Int64
}

// inboxRoom is what an inbox socket tracks of one of its user's rooms.
type inboxRoom struct {
	room   int // index in the run
	tr     *tracker
	warmed bool
}

// receiver reads one socket until it closes, accounting every chat
// message. It is the only reader of its socket.
type receiver struct {
	conn     *websocket.Conn
	nd       *node // the node the socket is open to; nil: not counted per node
	tr       *tracker
	shard    int
	rec      *recorder
	c        *counters
	stopping *atomic.Bool
	drops    *tally
	onWarm   func()
	warmed   bool

	// ex counts typing and receipt frames; nil: not counted. With
	// ex.readOn, the receiver sends chat.read on ws after a message, at
	// most once per ex.readEvery.
	ex       *extras
	ws       *wsock
	lastRead time.Time
	// phase, when set, also records latencies into the current phase's
	// recorder (a chat run with extras compares two phases).
	phase *atomic.Pointer[recorder]

	// inbox, on an inbox socket, holds the user's rooms by id: it
	// accounts inbox.message frames instead of chat.message ones, and
	// onWarmRoom is called once per room. received counts its fresh
	// deliveries (the total of its kind of socket).
	inbox      map[int64]*inboxRoom
	onWarmRoom func(room int)
	received   *atomic.Int64

	// peer says the socket speaks Centrifugo's protocol: frames are
	// replies and pushes, the published chat frames inside them.
	peer bool
}

// run reads until the socket closes or deadline passes.
func (r *receiver) run(deadline time.Time) {
	dropped := false
	defer func() { r.c.connsLive.Add(-1); r.nd.closed(dropped) }()
	_ = r.conn.SetReadDeadline(deadline)
	buf := make([]byte, 0, 1024)
	for {
		_, rd, err := r.conn.NextReader()
		if err == nil {
			buf, err = readInto(buf[:0], rd)
		}
		if err != nil {
			if !r.stopping.Load() {
				dropped = true
				r.c.dropped.Add(1)
				r.drops.add(failReason(err))
			}
			return
		}
		r.handle(buf, time.Now())
	}
}

// handle accounts one frame received at now.
func (r *receiver) handle(b []byte, now time.Time) {
	if r.peer {
		r.handlePeer(b, now)
		return
	}
	r.handleChat(b, now)
}

// handlePeer accounts the chat frames published in a Centrifugo frame and
// answers its pings.
func (r *receiver) handlePeer(b []byte, now time.Time) {
	for line := range bytes.Lines(b) {
		cr, err := scanCentrifugo(line)
		switch {
		case err != nil:
			r.tr.counts.Malformed++
		case cr.err != nil:
			r.tr.counts.Refused++
		case cr.ping && r.ws != nil:
			_ = r.ws.writeRaw([]byte("{}")) // a failed write is this reader's to see
		case cr.data != nil:
			r.handleChat(cr.data, now)
		}
	}
}

// handleChat accounts one LiveChat frame received at now.
func (r *receiver) handleChat(b []byte, now time.Time) {
	f, err := scanFrame(b)
	if err != nil {
		r.tr.counts.Malformed++
		return
	}
	switch string(f.typ) {
	case chatMessageType:
		if r.inbox == nil {
			r.message(f, now)
		}
	case inboxMessageType:
		if r.inbox != nil {
			r.inboxMessage(f, now)
		}
	case chatTypingType:
		if r.ex != nil {
			r.ex.typingRecv.Add(1)
		}
	case chatReadType:
		if r.ex != nil {
			r.ex.receiptsRecv.Add(1)
		}
	case chatErrorType:
		if r.ex != nil {
			r.ex.errorsRecv.Add(1)
		}
	}
}

// message accounts one chat.message frame.
func (r *receiver) message(f frame, now time.Time) {
	if bytes.HasPrefix(f.message, []byte(warmPrefix)) {
		r.tr.warmSeq(f)
		if !r.warmed && r.onWarm != nil {
			r.warmed = true
			r.onWarm()
		}
		return
	}
	if f.hasSeq {
		r.tr.observeSeq(f.seq)
	}
	p, ok := parsePayload(f.message)
	if !ok {
		r.tr.counts.Unparsed++
		return
	}
	switch r.tr.observe(p) {
	case obsFresh:
		r.fresh(p, now)
		if f.hasSeq {
			r.readBack(f.seq, now)
		}
	case obsDuplicate:
		r.c.duplicates.Add(1)
	}
}

// fresh counts a first delivery and records its latency.
func (r *receiver) fresh(p payload, now time.Time) {
	r.c.received.Add(1)
	if r.received != nil {
		r.received.Add(1)
	}
	lat := now.Sub(time.Unix(0, p.sent))
	r.rec.record(r.shard, now, lat)
	if r.phase != nil {
		if pr := r.phase.Load(); pr != nil {
			pr.record(r.shard, now, lat)
		}
	}
}

// readBack sends chat.read for seq when receipts are on and ReadEvery has
// passed since the last one.
func (r *receiver) readBack(seq int64, now time.Time) {
	if r.ex == nil || r.ws == nil || !r.ex.readOn.Load() || now.Sub(r.lastRead) < r.ex.readEvery {
		return
	}
	r.lastRead = now
	b := strconv.AppendInt([]byte(`{"type":"chat.read","seq":`), seq, 10)
	if err := r.ws.write(append(b, '}')); err != nil {
		r.ex.readSendErrs.Add(1)
		return
	}
	r.ex.readsSent.Add(1)
}

// inboxMessage accounts one inbox.message frame: its room must be one of
// the user's, and its last_message the bench message it announces.
func (r *receiver) inboxMessage(f frame, now time.Time) {
	ir := r.inbox[f.room]
	if !f.hasRoom || ir == nil || f.last == nil {
		r.tr.counts.Foreign++
		return
	}
	lm, err := scanFrame(f.last)
	if err != nil {
		ir.tr.counts.Malformed++
		return
	}
	if bytes.HasPrefix(lm.message, []byte(warmPrefix)) {
		ir.tr.warmSeq(lm)
		if !ir.warmed && r.onWarmRoom != nil {
			ir.warmed = true
			r.onWarmRoom(ir.room)
		}
		return
	}
	if lm.hasSeq {
		ir.tr.observeSeq(lm.seq)
	}
	p, ok := parsePayload(lm.message)
	if !ok {
		ir.tr.counts.Unparsed++
		return
	}
	switch ir.tr.observe(p) {
	case obsFresh:
		r.fresh(p, now)
	case obsDuplicate:
		r.c.duplicates.Add(1)
	}
}

// counts adds up the receiver's accounting (every room of an inbox socket).
func (r *receiver) counts() deliveryCounts {
	c := r.tr.counts
	for _, ir := range r.inbox {
		c.add(ir.tr.counts)
	}
	return c
}

// readInto appends everything rd yields to buf, reusing its capacity.
func readInto(buf []byte, rd io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
