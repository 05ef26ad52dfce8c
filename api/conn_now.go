package api

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// writeNow writes what a quiet socket has queued at once, on the caller's
// goroutine (the room actor delivering a message, usually), with one
// system call that never waits: a lone frame then costs no goroutine, no
// wake-up of another thread and no timer. A socket that takes less than
// all of it (its buffer is full: the client reads slowly) gets a writer
// goroutine for the rest, which waits for the socket as writeLoop always
// does; so do frames queued meanwhile. Caller has set writing and does not
// hold mu.
func (c *Conn) writeNow() {
	if c.raw == nil {
		go c.writeLoop(false)
		return
	}
	c.mu.Lock()
	batch := c.queue
	c.queue, c.queued, c.pong = nil, 0, 0
	c.space.Broadcast()
	c.mu.Unlock()

	bp, b := layOut(batch)
	n, err := c.writeOnce(b)
	if err != nil {
		putBuffer(bp, b)
		c.fail()
		return
	}
	c.stats.wrote(len(batch), n)
	var rest []byte
	if n < len(b) {
		rest = append([]byte(nil), b[n:]...)
	}
	putBuffer(bp, b)

	c.mu.Lock()
	if rest != nil {
		// What the socket did not take goes first, before anything
		// queued meanwhile (a close frame included): a frame is never
		// cut by another.
		c.queue = append(c.queue, outFrame{})
		copy(c.queue[1:], c.queue)
		c.queue[0] = outFrame{preframed, rest}
		c.queued += len(rest)
		c.peak = max(c.peak, c.unsentLocked())
		if c.pong > 0 {
			c.pong++
		}
	}
	if len(c.queue) == 0 {
		c.writing = false
		c.queue = nil
		c.wroteLocked()
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.writeLoop(false)
}

// writeOnce writes what the socket takes of b at once, with one system
// call that never waits, so it needs no deadline. A deadline an earlier
// write left behind that has passed reads as nothing taken: the writer
// that waits for the rest sets a fresh one. Only where c.raw is set.
func (c *Conn) writeOnce(b []byte) (int, error) {
	w := rawWrites.Get().(*rawWrite)
	w.b = b
	err := c.raw.Write(w.fn)
	n, werr := w.n, w.err
	*w = rawWrite{fn: w.fn}
	rawWrites.Put(w)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if err == nil && werr != nil && !retryLater(werr) {
		err = werr
	}
	return max(n, 0), err
}

// writeAll writes b as net.Conn.Write does, waiting for the socket in Go's
// poller until the write deadline, with each write a raw system call
// where the platform has them (see sockWrite).
func (c *Conn) writeAll(b []byte) (int, error) {
	if c.raw == nil || !rawSyscalls {
		return c.net.Write(b)
	}
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, err := tryWrite(fd, b[n:])
			switch {
			case errors.Is(err, syscall.EAGAIN):
				return false // wait until the socket takes more
			case errors.Is(err, syscall.EINTR):
			case err != nil:
				werr = err
				return true
			case k == 0:
				werr = io.ErrUnexpectedEOF // as poll.FD.Write: never spin on a write that takes nothing
				return true
			default:
				n += k
			}
		}
		return true
	})
	if err == nil && werr != nil {
		err = sockError("write", c.net, werr)
	}
	return n, err
}

// rawWrite is one write at once: its function is made once and the
// struct pooled, so that a write allocates no closure.
type rawWrite struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var rawWrites = sync.Pool{New: func() any {
	w := &rawWrite{}
	w.fn = func(fd uintptr) bool {
		w.n, w.err = tryWrite(fd, w.b)
		return true // never wait for the socket here
	}
	return w
}}
