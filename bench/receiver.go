package bench

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// warmPrefix starts the warm-up message: one per room, sent before the
// measured messages, so that sending starts only once every member is
// known to receive (a socket may be open before its room counts it).
const warmPrefix = "b1w:"

// chatMessageType is the "type" of chat messages.
const chatMessageType = "chat.message"

// receiver reads one socket until it closes, accounting every chat
// message. It is the only reader of its socket.
type receiver struct {
	conn     *websocket.Conn
	tr       *tracker
	shard    int
	rec      *recorder
	c        *counters
	stopping *atomic.Bool
	drops    *tally
	onWarm   func()
	warmed   bool
}

// run reads until the socket closes or deadline passes.
func (r *receiver) run(deadline time.Time) {
	defer r.c.connsLive.Add(-1)
	_ = r.conn.SetReadDeadline(deadline)
	buf := make([]byte, 0, 1024)
	for {
		_, rd, err := r.conn.NextReader()
		if err == nil {
			buf, err = readInto(buf[:0], rd)
		}
		if err != nil {
			if !r.stopping.Load() {
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
	f, err := scanFrame(b)
	if err != nil {
		r.tr.counts.Malformed++
		return
	}
	if string(f.typ) != chatMessageType {
		return
	}
	if f.hasSeq {
		r.tr.observeSeq(f.seq)
	}
	if bytes.HasPrefix(f.message, []byte(warmPrefix)) {
		if !r.warmed && r.onWarm != nil {
			r.warmed = true
			r.onWarm()
		}
		return
	}
	p, ok := parsePayload(f.message)
	if !ok {
		r.tr.counts.Unparsed++
		return
	}
	switch r.tr.observe(p) {
	case obsFresh:
		r.c.received.Add(1)
		r.rec.record(r.shard, now, now.Sub(time.Unix(0, p.sent)))
	case obsDuplicate:
		r.c.duplicates.Add(1)
	}
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
