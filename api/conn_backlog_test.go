package api

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// slowNetConn is a connection whose every write succeeds after a delay,
// like a client that reads, but slowly.
type slowNetConn struct {
	net.Conn
	delay time.Duration
}

func (c slowNetConn) Write(b []byte) (int, error) {
	time.Sleep(c.delay)
	return len(b), nil
}

func (slowNetConn) SetWriteDeadline(time.Time) error { return nil }
func (slowNetConn) SetReadDeadline(time.Time) error  { return nil }
func (slowNetConn) Close() error                     { return nil }

// TestSendBacklogSlowConsumerIsCounted: a reconnect backlog that the client
// does not read within the write timeout closes the socket as a slow
// consumer, and it is counted as one, like a live queue that overflows.
func TestSendBacklogSlowConsumerIsCounted(t *testing.T) {
	const timeout = 20 * time.Millisecond
	var slow atomic.Int64
	c := newConn(slowNetConn{delay: 2 * timeout}, 1024, timeout, nil, func() { slow.Add(1) })
	frame := make([]byte, 200)
	frames := make([][]byte, 50)
	for i := range frames {
		frames[i] = frame
	}
	if c.SendBacklog(frames) {
		t.Fatal("a backlog not read in time was sent whole")
	}
	if code := c.closeCode(); code != 4008 {
		t.Fatalf("closed with %d, want 4008", code)
	}
	if n := slow.Load(); n != 1 {
		t.Fatalf("%d slow consumers counted, want 1", n)
	}
	c.drain(time.Second)
}
