package api

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"livechat/actors"
)

// pipeConn returns a Conn writing into one end of an in-memory pipe, with a
// write clock that never ticks by itself (tests fire it), and the other end.
func pipeConn(t *testing.T) (*Conn, *writeClock, net.Conn) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	clock := newWriteClock(time.Hour)
	return newConn(server, 1<<20, 5*time.Second, clock, nil), clock, client
}

// readWrite returns the bytes of the next write on the pipe (a read of a
// pipe never spans two writes), or nil when none comes within d.
func readWrite(t *testing.T, c net.Conn, d time.Duration) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return buf[:n]
}

// wireFrames lays frames out as the writer does, for comparison.
func wireFrames(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = appendFrameHeader(b, 1, len(p))
		b = append(b, p...)
	}
	return b
}

func TestConnWritesQuietSocketAtOnce(t *testing.T) {
	c, _, peer := pipeConn(t)
	// The clock's period is an hour: a frame that waited for its tick
	// would not come.
	if !c.Send([]byte("lone")) {
		t.Fatal("Send refused")
	}
	if got := readWrite(t, peer, 5*time.Second); string(got) != string(wireFrames("lone")) {
		t.Fatalf("a lone frame to a quiet socket: got %q, want it written at once", got)
	}
}

func TestConnGathersBusySocketFramesOnTick(t *testing.T) {
	c, clock, peer := pipeConn(t)
	for _, lone := range []string{"zeroth", "first"} { // a quiet socket: each written at once
		c.Send([]byte(lone))
		if got := readWrite(t, peer, 5*time.Second); string(got) != string(wireFrames(lone)) {
			t.Fatalf("write of %q: got %q", lone, got)
		}
		c.drain(5 * time.Second) // the writer has seen an empty queue and ended
	}
	// Written twice less than a period ago, the socket is busy: what comes
	// next waits for the tick and goes out in one write.
	c.Send([]byte("second"))
	c.Send([]byte("third"))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		clock.fire() // until the writer is waiting for it
		if got := readWrite(t, peer, 10*time.Millisecond); got != nil {
			if want := wireFrames("second", "third"); string(got) != string(want) {
				t.Fatalf("after the tick: got %q, want %q in one write", got, want)
			}
			return
		}
	}
	t.Fatal("the frames of a busy socket were not written at the tick")
}

// TestConnSendDroppableSkipsBusySocket: an optional frame (typing, a
// receipt) is queued while at most half of the byte limit is unsent, and
// dropped past it without closing the socket, which still takes the
// frames everyone gets.
func TestConnSendDroppableSkipsBusySocket(t *testing.T) {
	server, client := net.Pipe() // never read: the first write blocks
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	const limit = 16 << 10
	c := newConn(server, limit, 5*time.Second, nil, nil)
	if !c.SendDroppable([]byte(`{"type":"chat.typing"}`)) {
		t.Fatal("an optional frame was dropped from an idle socket")
	}
	frame := make([]byte, 1000)
	for c.unsent() <= limit/2 {
		if !c.Send(frame) {
			t.Fatalf("Send refused at %d unsent bytes", c.unsent())
		}
	}
	if c.SendDroppable([]byte(`{"type":"chat.typing"}`)) {
		t.Fatalf("an optional frame was queued with %d of %d bytes unsent", c.unsent(), limit)
	}
	if code := c.closeCode(); code != 0 {
		t.Fatalf("dropping an optional frame closed the socket with %d", code)
	}
	if !c.Send([]byte("everyone gets this")) {
		t.Fatal("a frame for everyone was refused after an optional one was dropped")
	}
}

// unsent is how many bytes are queued or in a write that has not returned.
func (c *Conn) unsent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unsentLocked()
}

// TestConnStuckWriteCountsAgainstLimit: on a socket whose client never
// reads, the batch a blocked write holds is still unsent and counts
// against the byte limit: the frames accepted before the socket is closed
// as a slow consumer add up to the limit at most, not the limit plus what
// the writer took.
func TestConnStuckWriteCountsAgainstLimit(t *testing.T) {
	server, client := net.Pipe() // never read: the first write blocks
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	const limit = 16 << 10
	c := newConn(server, limit, 5*time.Second, nil, nil)
	frame := make([]byte, limit/4-10)
	accepted := 0
	for range 20 {
		if !c.Send(frame) {
			break
		}
		accepted += frameSize(len(frame))
		if accepted == frameSize(len(frame)) {
			// Let the writer take the first frame and block on it.
			deadline := time.Now().Add(5 * time.Second)
			for {
				c.mu.Lock()
				taken := c.inflight > 0
				c.mu.Unlock()
				if taken || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	if accepted > limit {
		t.Fatalf("accepted %d bytes on a socket that reads nothing; the limit is %d", accepted, limit)
	}
	if code := c.closeCode(); code != actors.CloseSlowConsumer {
		t.Fatalf("close code %d, want the slow consumer's %d", code, actors.CloseSlowConsumer)
	}
	if peak := c.peakQueued(); peak > limit {
		t.Fatalf("%d bytes unsent at the peak; the limit is %d", peak, limit)
	}
}
