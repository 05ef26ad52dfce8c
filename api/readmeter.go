package api

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// messageSlack is what a message may read past its frame limit: frame
// headers, the pings a client may interleave, and the bytes of the next
// message the library reads ahead.
const messageSlack = 64 << 10

var errMessageFrames = errors.New("api: a message's frames passed the frame limit")

// readMeter counts the bytes a socket reads, so that a message is bounded
// by what reading it costs and not only by its payload. The websocket
// library reads a message's continuation frames in a loop of its own:
// without this, empty continuation frames could stream into one message
// forever, each parsed and none ever seen by LiveChat.
type readMeter struct {
	net.Conn
	fd    syscall.RawConn // the socket under Conn, when Conn adds nothing to it (socketFD); nil: none
	read  int64           // bytes read so far; touched by the socket's reader only
	limit int64           // while a message is read, read may not pass it; 0 between messages
	raw   *rawRead        // made on the first raw read, reused by every one after
	track frameTrack      // the frames read, for awaitBytes
}

// rawRead is one raw read's buffer and outcome, with the function that
// makes it: made once per socket, so that a read allocates no closure.
type rawRead struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
	// await is awaitBytes' test: false (wait) while the socket has no
	// bytes, true once the poller woke it or a peek found some.
	await  func(fd uintptr) bool
	waited bool
}

func newRawRead() *rawRead {
	r := &rawRead{}
	r.fn = func(fd uintptr) bool {
		for {
			r.n, r.err = sockRead(fd, r.p)
			if !errors.Is(r.err, syscall.EINTR) {
				return !errors.Is(r.err, syscall.EAGAIN)
			}
		}
	}
	r.await = func(fd uintptr) bool {
		if r.waited {
			r.waited = false
			return true
		}
		if sockPending(fd) {
			return true
		}
		r.waited = true
		return false
	}
	return r
}

// begin bounds the message whose reading starts now.
func (m *readMeter) begin(maxFrame int) { m.limit = m.read + int64(maxFrame) + messageSlack }

// end lifts the bound once the message is read.
func (m *readMeter) end() { m.limit = 0 }

func (m *readMeter) Read(p []byte) (int, error) {
	if m.limit > 0 && m.read > m.limit {
		return 0, errMessageFrames
	}
	var n int
	var err error
	if rawSyscalls && m.fd != nil && len(p) > 0 {
		n, err = m.readRaw(p)
	} else {
		n, err = m.Conn.Read(p)
	}
	m.read += int64(n)
	m.track.feed(p[:n])
	return n, err
}

// readRaw reads as net.Conn.Read does, waiting for the socket in Go's
// poller, with the read itself a raw system call (see sockRead).
func (m *readMeter) readRaw(p []byte) (int, error) {
	if m.raw == nil {
		m.raw = newRawRead()
	}
	r := m.raw
	r.p = p
	err := m.fd.Read(r.fn)
	n, rerr := r.n, r.err
	r.p, r.n, r.err = nil, 0, nil // keep no reference to the caller's buffer
	switch {
	case err != nil:
		return 0, err // closed, or past the read deadline: a *net.OpError
	case rerr != nil:
		return 0, sockError("read", m.Conn, rerr)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// sockError is a failed raw read or write of conn's socket as net.Conn
// reports one.
func sockError(op string, conn net.Conn, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: os.NewSyscallError(op, err)}
}

// SyscallConn gives the connection's raw writes (see Conn.writeNow) the
// socket, when Conn adds nothing to it.
func (m *readMeter) SyscallConn() (syscall.RawConn, error) {
	if m.fd == nil {
		return nil, errors.ErrUnsupported
	}
	return m.fd, nil
}

// newReadMeter meters conn; a bare socket is read with raw system calls
// where the platform has them.
func newReadMeter(conn net.Conn) *readMeter {
	return &readMeter{Conn: conn, fd: socketFD(conn)}
}

// socketFD is conn's socket when conn reads and writes nothing but it: a
// TCP connection, or one the listener handed off. A connection that
// buffers what it reads (lingerConn, earlyConn, fasthttp's hijacked
// connection) has none: reading or writing its socket directly would pass
// its buffer by.
func socketFD(conn net.Conn) syscall.RawConn {
	var tcp *net.TCPConn
	switch c := conn.(type) {
	case *net.TCPConn:
		tcp = c
	case *ownedConn:
		tcp = c.TCPConn
	default:
		return nil
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// idle reports whether the socket's reader may wait with awaitBytes: the
// socket is read with raw system calls, and the websocket library holds
// no bytes it has not parsed (frameTrack).
func (m *readMeter) idle() bool { return rawSyscalls && m.fd != nil && m.track.drained() }

// awaitBytes waits until the socket has bytes to read, has ended or is
// past its read deadline, and reads none of them. It parks the reader on
// a shallow stack: an idle socket's goroutine then holds the runtime's
// smallest stack (2 KiB), where parked inside the websocket library's
// read it holds twice that. Only the socket's reader calls it, when idle.
func (m *readMeter) awaitBytes() error {
	if m.raw == nil {
		m.raw = newRawRead()
	}
	m.raw.waited = false // a wait cut short by a deadline or a close left it set
	return m.fd.Read(m.raw.await)
}
