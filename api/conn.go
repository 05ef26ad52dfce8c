package api

import (
	"encoding/binary"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

var _ actors.Sink = (*Conn)(nil)

// Conn is one WebSocket's outbound side: a queue bounded in bytes that
// never blocks the caller, drained by a writer goroutine that exists only
// while there is something to write and that writes everything queued in
// one system call. Frames are written raw to the network connection (the
// websocket library does one write per message); control frames go through
// the same queue, so there is exactly one writer.
//
// The queue holds the shared payloads, not copies; the writer lays headers
// and payloads out in one pooled buffer and writes it once. (Copying a batch
// of small frames costs less than a vector write with two entries a frame,
// and works the same on every net.Conn.)
type Conn struct {
	net      net.Conn
	raw      syscall.RawConn // net's file descriptor, for raw writes (conn_now.go); nil: none
	maxBytes int
	timeout  time.Duration
	clock    *writeClock // a busy socket's writer waits for its tick; nil: no wait
	onSlow   func()
	stats    *socketStats // deliveries and writes, for metrics; nil: none

	mu     sync.Mutex
	queue  []outFrame
	queued int // bytes the queued frames take on the wire, headers included
	// inflight is the bytes of the batch a writer goroutine is writing:
	// until the write returns they are still unsent, and count with
	// queued against maxBytes (a client that does not read would
	// otherwise hold a blocked write's batch and a full queue besides).
	inflight int
	// pong is the queue position of the pending pong plus one, 0 when
	// none is pending: a newer pong replaces it (RFC 6455 5.5.3), so a
	// client pinging without reading holds at most one.
	pong    int
	peak    int  // the most bytes ever queued (tests check the bound)
	writing bool // a writer is running (a goroutine, or Send writing at once)
	closing bool // a close frame is queued or sent: no more frames
	// wrote and wroteBefore are when the last two writes finished
	// (monotonic, since connEpoch; 0 before a write): a socket written
	// within busyWindow is busy, and its next write by a writer goroutine
	// waits for the tick to gather frames; one not written twice within
	// it is quiet, and written at once by the sender.
	wrote, wroteBefore time.Duration
	space              *sync.Cond
	lastRead           time.Time
	// readClosing counts the frames read since closing began (see
	// readAfterClose).
	readClosing int

	auth socketAuth    // the user it acts for and until when (socketauth.go)
	code int           // the close code sent or answered first; 0 while open
	done chan struct{} // closed once closing; made when first asked for
}

func newConn(conn net.Conn, maxBytes int, timeout time.Duration, clock *writeClock, onSlow func()) *Conn {
	c := &Conn{net: conn, maxBytes: maxBytes, timeout: timeout, clock: clock, onSlow: onSlow, lastRead: time.Now()}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.space = sync.NewCond(&c.mu)
	return c
}

// Send implements actors.Sink: it queues one text frame, or closes the
// connection as a slow consumer when the queue would pass its byte limit.
func (c *Conn) Send(frame []byte) bool { return c.send(frame, false) }

// SendLater implements actors.Sink: Send, but never written on the
// caller's goroutine, for a broadcast to many sockets.
func (c *Conn) SendLater(frame []byte) bool { return c.send(frame, true) }

func (c *Conn) send(frame []byte, later bool) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if !c.fitsLocked(frameSize(len(frame))) {
		c.mu.Unlock()
		c.slow()
		return false
	}
	c.queueLockedLater(websocket.TextMessage, frame, later)
	return true
}

// SendDroppable implements actors.Sink: it queues an optional frame
// (typing, receipts) unless more than half of the byte limit is unsent,
// in which case the frame is dropped and nothing else happens. Optional
// frames never make a socket a slow consumer.
func (c *Conn) SendDroppable(frame []byte) bool {
	c.mu.Lock()
	n := frameSize(len(frame))
	if u := c.unsentLocked(); c.closing || u > c.maxBytes/2 || u+n > c.maxBytes {
		c.mu.Unlock()
		return false
	}
	c.queueLocked(websocket.TextMessage, frame)
	return true
}

// queueLocked queues a text frame for Send and SendDroppable, unlocks mu
// and starts the writer if none runs: a quiet socket is written at once,
// on the caller's goroutine (writeNow), a busy one by a writer goroutine
// that waits for the clock's tick. Caller holds mu.
func (c *Conn) queueLocked(kind int, frame []byte) { c.queueLockedLater(kind, frame, false) }

// queueLockedLater is queueLocked; later leaves the write to the clock's
// writers even on a quiet socket.
func (c *Conn) queueLockedLater(kind int, frame []byte, later bool) {
	start := c.pushLocked(kind, frame)
	now := start && !later && c.clock != nil && c.quietLocked() && !c.clock.ticking()
	busy := start && c.clock != nil && (later || c.busyLocked())
	c.mu.Unlock()
	c.stats.queued()
	switch {
	case !start:
	case now:
		// While busy sockets wait for the tick, a big room is being
		// written: its writes stay off the room actor (which bounds a big
		// room's rate), on writer goroutines.
		c.writeNow()
	case busy:
		go c.writeLoop(true)
	default:
		// No clock: a writer goroutine gathers what the caller queues
		// while it starts.
		go c.writeLoop(false)
	}
}

// fitsLocked reports whether n more bytes fit in the queue; when they do
// not, the queue is dropped and the connection closed as a slow consumer
// (the caller then calls slow, outside the lock). Caller holds mu.
func (c *Conn) fitsLocked(n int) bool {
	if c.unsentLocked()+n <= c.maxBytes {
		return true
	}
	c.dropQueueLocked()
	c.closeLocked(actors.CloseSlowConsumer, "slow consumer: outbound queue full")
	return false
}

func (c *Conn) slow() {
	if c.onSlow != nil {
		c.onSlow()
	}
}

// unsentLocked is the bytes not yet written: queued, and in a write that
// has not returned. Caller holds mu.
func (c *Conn) unsentLocked() int { return c.queued + c.inflight }

func (c *Conn) dropQueueLocked() {
	c.queue, c.queued, c.pong = nil, 0, 0
}

// SendBacklog implements actors.Sink: it queues frames, waiting while the
// queue is over half full, so a long reconnect backlog streams at the
// client's pace instead of overflowing the queue.
func (c *Conn) SendBacklog(frames [][]byte) bool {
	ok, slow := c.sendBacklog(frames)
	if slow {
		c.slow() // counted like every slow consumer, outside the lock
	}
	return ok
}

// sendBacklog queues frames as SendBacklog says; slow reports that it
// closed the connection as a slow consumer.
func (c *Conn) sendBacklog(frames [][]byte) (ok, slow bool) {
	deadline := time.Now().Add(c.timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range frames {
		for !c.closing && c.unsentLocked() > c.maxBytes/2 {
			if time.Now().After(deadline) {
				c.closeLocked(actors.CloseSlowConsumer, "slow consumer: backlog not read")
				return false, true
			}
			c.space.Wait()
		}
		if c.closing {
			return false, false
		}
		c.enqueueLocked(websocket.TextMessage, f)
		c.stats.queued()
	}
	return true, false
}

// Close implements actors.Sink: it queues a close frame after what is
// queued (or instead of it, for a slow consumer) and stops accepting frames.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	c.closeLocked(code, reason)
	c.mu.Unlock()
}

func (c *Conn) closeLocked(code int, reason string) {
	if !c.closing {
		c.code = code
		msg := websocket.FormatCloseMessage(code, reason)
		if c.unsentLocked()+frameSize(len(msg)) > c.maxBytes {
			// The close frame is always sent and the queue never passes
			// its limit: a client that far behind loses what is queued.
			c.dropQueueLocked()
		}
		c.enqueueLocked(websocket.CloseMessage, msg)
		c.closingLocked()
	}
}

// closeSent records that a close frame with code went out by another way
// (the websocket library answers a protocol violation, or a frame header
// over the read limit, with its own): what is queued is dropped, and no
// second close frame is sent.
func (c *Conn) closeSent(code int) {
	c.mu.Lock()
	if !c.closing {
		c.code = code
		c.dropQueueLocked()
		c.closingLocked()
	}
	c.mu.Unlock()
}

// closingLocked stops accepting frames once a close frame is queued or
// sent. The peer answers with its own close, which ends the read loop; a
// peer that does not is cut off after the write timeout. Caller holds mu.
func (c *Conn) closingLocked() {
	c.closing = true
	c.wakeLocked()
	c.space.Broadcast()
	_ = c.net.SetReadDeadline(time.Now().Add(c.timeout))
}

// framesAfterClose is how many frames a peer may still send once the
// connection is closing: what was in flight when the close frame went out,
// then its own close. A peer that keeps sending past them is cut off
// rather than read until the close times out (a client flooding pings
// would otherwise keep a core busy reading them for that long).
const framesAfterClose = 1000

// readAfterClose counts a frame read from the peer and reports whether the
// connection is closing (the frame is then dropped) and whether the peer
// has sent more than framesAfterClose since (the reader then stops). It is
// called by the reader only.
func (c *Conn) readAfterClose() (closing, cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		return false, false
	}
	c.readClosing++
	return true, c.readClosing > framesAfterClose
}

// isClosing reports whether the connection is closing or closed.
func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// closed returns a channel that is closed once the connection is closing,
// for a reader that waits on something else meanwhile. It is made on first
// use: most sockets never wait.
func (c *Conn) closed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.closing {
			close(c.done)
		}
	}
	return c.done
}

// wakeLocked closes done, once, when someone waits on it. Caller holds mu
// and has set closing.
func (c *Conn) wakeLocked() {
	if c.done == nil {
		return
	}
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

// control queues a ping or pong, counted against the queue's limit like
// any frame. A pong replaces the one still pending, if any.
func (c *Conn) control(kind int, data []byte) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if kind == websocket.PongMessage && c.pong > 0 {
		pending := &c.queue[c.pong-1]
		if c.fitsLocked(len(data) - len(pending.payload)) {
			c.queued += len(data) - len(pending.payload)
			c.peak = max(c.peak, c.unsentLocked())
			pending.payload = data
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.slow()
		return
	}
	if !c.fitsLocked(frameSize(len(data))) {
		c.mu.Unlock()
		c.slow()
		return
	}
	c.enqueueLocked(kind, data)
	if kind == websocket.PongMessage {
		c.pong = len(c.queue)
	}
	c.mu.Unlock()
}

// outFrame is one queued frame: its opcode and its shared payload.
type outFrame struct {
	kind    int
	payload []byte
}

// preframed is the kind of a queued item that is already laid out as
// frames: what a write at once left unwritten (writeNow).
const preframed = -1

// enqueueLocked adds a frame and starts a writer goroutine if none runs.
// Caller holds mu.
func (c *Conn) enqueueLocked(kind int, payload []byte) {
	if c.pushLocked(kind, payload) {
		go c.writeLoop(c.busyLocked())
	}
}

// pushLocked adds a frame to the queue and reports whether no writer runs
// (the caller must start one; writing is already set). The payload is
// shared, not copied, so queueing allocates nothing per frame in the
// steady state. Caller holds mu.
func (c *Conn) pushLocked(kind int, payload []byte) (start bool) {
	c.queue = append(c.queue, outFrame{kind, payload})
	c.queued += frameSize(len(payload))
	c.peak = max(c.peak, c.unsentLocked())
	if c.writing {
		return false
	}
	c.writing = true
	return true
}

// connEpoch is the origin of Conn.wrote: a duration since it reads the
// monotonic clock and takes 8 bytes a socket instead of a time.Time's 24.
var connEpoch = time.Now()

// busyWindow is how many clock periods after its last write a socket
// counts as busy. A socket in a big busy room is written every few periods
// (on a loaded machine a round of a thousand writes takes 25-45 ms), and
// must keep gathering; a socket of a quiet room gets a frame every 100 ms
// or less often. Ten periods (50 ms) tell the two apart: with four, the
// big room's sockets often looked quiet and fan-out latency rose.
const busyWindow = 10

// busyLocked reports whether the socket was written within busyWindow
// clock periods: its frames come often, so its next write waits for the
// tick and gathers what arrives meanwhile (the big room keeps its
// batches). Caller holds mu.
func (c *Conn) busyLocked() bool {
	return c.clock != nil && c.wrote > 0 && time.Since(connEpoch)-c.wrote < busyWindow*c.clock.period
}

// quietLocked reports whether the socket was not written twice within
// busyWindow clock periods: a lone frame is written at once, and so is the
// second of two that come together (the first is written by Send itself,
// before the second is queued: see writeNow). Caller holds mu.
func (c *Conn) quietLocked() bool {
	return c.wroteBefore == 0 || time.Since(connEpoch)-c.wroteBefore >= busyWindow*c.clock.period
}

// wroteLocked records a write that just finished. Caller holds mu.
func (c *Conn) wroteLocked() {
	c.wroteBefore, c.wrote = c.wrote, time.Since(connEpoch)
}

// frameSize is the bytes a frame with an n-byte payload takes on the wire.
func frameSize(n int) int {
	switch {
	case n < 126:
		return 2 + n
	case n <= 0xFFFF:
		return 4 + n
	default:
		return 10 + n
	}
}

// peakQueued returns the most bytes ever unsent (queued or in a write).
func (c *Conn) peakQueued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak
}

// appendFrameHeader appends the header of an unmasked, final server frame.
func appendFrameHeader(h []byte, kind, n int) []byte {
	h = append(h, 0x80|byte(kind))
	switch {
	case n < 126:
		return append(h, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(h, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(h, 127), uint64(n))
	}
}

// writeLoop writes whatever is queued, all of it in one write, until the
// queue is empty; then the goroutine ends, so an idle socket has none.
// Frames that arrive while a write is in flight join the next one.
func (c *Conn) writeLoop(wait bool) {
	if wait {
		// A busy socket: let the frames of the next few moments join
		// this write (in a busy room that turns many small writes into
		// one), and write together with the other busy sockets.
		c.clock.wait()
	}
	var spare []outFrame
	for {
		c.mu.Lock()
		if c.inflight > 0 {
			c.inflight = 0 // the last batch is written
			c.space.Broadcast()
		}
		if len(c.queue) == 0 {
			c.writing = false
			c.queue = nil // an idle socket keeps no buffers
			c.wroteLocked()
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.inflight += c.queued
		c.queue, c.queued, c.pong = spare[:0], 0, 0
		c.mu.Unlock()

		if err := c.writeBatch(batch); err != nil {
			c.fail()
			return
		}
		clear(batch)
		spare = batch[:0]
	}
}

// writeBuffers are the contiguous buffers batches are laid out in.
var writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledBuffer keeps buffers grown by a rare huge batch out of the pool.
const maxPooledBuffer = 256 << 10

func (c *Conn) writeBatch(batch []outFrame) error {
	bp, b := layOut(batch)
	var n int
	var err error
	if c.raw != nil && rawSyscalls {
		// A socket that keeps up takes the whole batch at once: the
		// deadline, a timer change per write, is set only for a write
		// that has to wait.
		n, err = c.writeOnce(b)
	}
	if err == nil && n < len(b) {
		_ = c.net.SetWriteDeadline(time.Now().Add(c.timeout))
		var k int
		k, err = c.writeAll(b[n:])
		n += k
	}
	c.stats.wrote(len(batch), n)
	putBuffer(bp, b)
	return err
}

// layOut lays a batch's frames out in a pooled buffer; give it back with
// putBuffer.
func layOut(batch []outFrame) (*[]byte, []byte) {
	bp := writeBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	for _, f := range batch {
		if f.kind != preframed {
			b = appendFrameHeader(b, f.kind, len(f.payload))
		}
		b = append(b, f.payload...)
	}
	return bp, b
}

func putBuffer(bp *[]byte, b []byte) {
	if cap(b) <= maxPooledBuffer {
		*bp = b[:0]
		writeBuffers.Put(bp)
	}
}

// fail stops a connection whose write failed or timed out: the read loop
// then ends and the session with it.
func (c *Conn) fail() {
	c.mu.Lock()
	c.closing, c.writing, c.inflight = true, false, 0
	c.wakeLocked()
	c.dropQueueLocked()
	c.space.Broadcast()
	c.mu.Unlock()
	_ = c.net.Close()
}

// touch records inbound activity (any frame, pongs included).
func (c *Conn) touch(now time.Time) {
	c.mu.Lock()
	c.lastRead = now
	c.mu.Unlock()
}

func (c *Conn) idleSince() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastRead
}

// drain waits (at most d) until everything queued, a close frame included,
// has been written.
func (c *Conn) drain(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		idle := !c.writing
		c.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
