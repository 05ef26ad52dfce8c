package api

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// tcpConn returns a Conn over a real loopback TCP connection (writes at
// once need a socket) and the client's end. Its write clock never ticks:
// the tests write at most twice in a row, so the socket stays quiet.
func tcpConn(t *testing.T, maxBytes int) (*Conn, *net.TCPConn) {
	t.Helper()
	server, client := tcpPair(t)
	return newConn(server, maxBytes, 5*time.Second, newWriteClock(time.Hour), nil), client.(*net.TCPConn)
}

// readN reads exactly n bytes from c, within 5 s.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return buf
}

func TestConnWritesQuietSocketOnCallersGoroutine(t *testing.T) {
	c, peer := tcpConn(t, 1<<20)
	if !c.Send([]byte("lone")) {
		t.Fatal("Send refused")
	}
	c.mu.Lock()
	writing := c.writing
	c.mu.Unlock()
	if writing {
		t.Fatal("Send to a quiet socket returned with a writer still running: want the frame written by Send itself")
	}
	want := wireFrames("lone")
	if got := readN(t, peer, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// An earlier write's deadline that has passed does not fail a later write
// at once (which sets none): the socket stays open and the frame arrives.
func TestConnWriteAtOnceAfterDeadlinePassed(t *testing.T) {
	c, peer := tcpConn(t, 1<<20)
	_ = c.net.SetWriteDeadline(time.Now().Add(-time.Second))
	for _, p := range []string{"one", "two"} {
		if !c.Send([]byte(p)) {
			t.Fatalf("Send %q refused", p)
		}
		want := wireFrames(p)
		if got := readN(t, peer, len(want)); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		c.drain(5 * time.Second)
	}
	if c.isClosing() {
		t.Fatal("a passed deadline closed the socket")
	}
}

// A write at once that the socket takes only part of leaves the rest to a
// writer goroutine, ahead of what is queued after it: the peer reads every
// frame whole and in order.
func TestConnWriteAtOnceKeepsTheRestInOrder(t *testing.T) {
	c, peer := tcpConn(t, 64<<20)
	big := bytes.Repeat([]byte("x"), 16<<20) // more than loopback buffers hold
	done := make(chan bool)
	go func() {
		ok := c.Send(big)
		c.mu.Lock()
		rest := c.writing // the peer reads nothing yet: part of big is left
		c.mu.Unlock()
		ok = c.Send([]byte("after")) && ok
		done <- ok && rest
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("Send refused, or the socket took the whole frame at once (nothing left to test)")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Send waited for a slow socket")
	}
	want := append(appendFrameHeader(nil, 1, len(big)), big...)
	want = append(want, wireFrames("after")...)
	if got := readN(t, peer, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("the peer read %d bytes that differ from the %d written", len(got), len(want))
	}
}

// The writer goroutine sets a deadline only for a write that has to wait,
// and a fresh one then: a deadline an earlier write left (here 100 ms
// ahead) does not cut a write that waits longer for a peer that reads.
func TestConnWriterWaitsWithAFreshDeadline(t *testing.T) {
	c, peer := tcpConn(t, 64<<20)
	_ = c.net.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	big := bytes.Repeat([]byte("y"), 16<<20)
	if !c.Send(big) {
		t.Fatal("Send refused")
	}
	time.Sleep(300 * time.Millisecond) // past the old deadline, the rest still waits
	want := append(appendFrameHeader(nil, 1, len(big)), big...)
	if got := readN(t, peer, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("the peer read %d bytes that differ from the %d written", len(got), len(want))
	}
	if c.isClosing() {
		t.Fatal("an old deadline cut a write that waited for a reading peer")
	}
}

// A peer that never reads holds the writer's wait until the write timeout:
// then the connection fails.
func TestConnWriterTimesOutAStuckPeer(t *testing.T) {
	server, _ := tcpPair(t)
	c := newConn(server, 64<<20, 300*time.Millisecond, newWriteClock(time.Hour), nil)
	if !c.Send(bytes.Repeat([]byte("z"), 16<<20)) {
		t.Fatal("Send refused")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.isClosing() {
		if time.Now().After(deadline) {
			t.Fatal("a write to a peer that never reads did not time out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
