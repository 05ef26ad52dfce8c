package api

import (
	"errors"
	"net"
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
	read  int64 // bytes read so far; touched by the socket's reader only
	limit int64 // while a message is read, read may not pass it; 0 between messages
}

// begin bounds the message whose reading starts now.
func (m *readMeter) begin(maxFrame int) { m.limit = m.read + int64(maxFrame) + messageSlack }

// end lifts the bound once the message is read.
func (m *readMeter) end() { m.limit = 0 }

func (m *readMeter) Read(p []byte) (int, error) {
	if m.limit > 0 && m.read > m.limit {
		return 0, errMessageFrames
	}
	n, err := m.Conn.Read(p)
	m.read += int64(n)
	return n, err
}

// SyscallConn keeps the connection's raw writes (see Conn.writeNow).
func (m *readMeter) SyscallConn() (syscall.RawConn, error) {
	sc, ok := m.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
