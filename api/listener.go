package api

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// retryListener keeps accepting when the process runs out of file
// descriptors: fasthttp would stop serving on EMFILE, while the right
// answer is to wait for sockets to close and carry on.
type retryListener struct {
	net.Listener
	log      *slog.Logger
	lastWarn time.Time
}

func (l *retryListener) Accept() (net.Conn, error) {
	delay := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if tcp, ok := c.(*net.TCPConn); ok && err == nil {
			return &lingerConn{TCPConn: tcp}, nil
		}
		if err == nil || !(errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)) {
			return c, err
		}
		if time.Since(l.lastWarn) > 10*time.Second {
			l.lastWarn = time.Now()
			l.log.Warn("out of file descriptors: new connections wait; lower --max-conns or raise the open-file limit", "err", err)
		}
		time.Sleep(delay)
		delay = min(2*delay, time.Second)
	}
}

// Bounds of a lingering close: how long, and how many bytes of a request
// the client is still sending, the server reads and discards after
// refusing it.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 4 << 20
)

// lingerConn is an accepted connection that can close the way web servers
// close after refusing a request they did not read whole (a body over the
// limit, a malformed request): send the answer and a FIN, then read and
// discard what the client is still sending for a bounded time before the
// final close. Closing with unread data would make the kernel reset the
// connection, and the reset destroys the answer (a 413) before a client
// still busy sending its body can read it.
//
// It is also how a WebSocket leaves fasthttp: handOff.
type lingerConn struct {
	*net.TCPConn
	linger    atomic.Bool
	handedOff atomic.Bool
}

// handOff gives the connection to a new owner: from now on Close is a no-op
// for fasthttp, which closes the hijacked connection once its hijack
// handler returns, and the owner closes the returned connection itself.
func (c *lingerConn) handOff() *net.TCPConn {
	c.handedOff.Store(true)
	return c.TCPConn
}

// lingerOnClose makes the connection's next Close a lingering one.
func lingerOnClose(c net.Conn) {
	if lc, ok := c.(*lingerConn); ok {
		lc.linger.Store(true)
	}
}

func (c *lingerConn) Close() error {
	if c.handedOff.Load() {
		return nil
	}
	if !c.linger.Load() {
		return c.TCPConn.Close()
	}
	if err := c.CloseWrite(); err != nil {
		return c.TCPConn.Close()
	}
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.CopyN(io.Discard, c.TCPConn, lingerBytes)
		_ = c.TCPConn.Close()
	}()
	return nil
}
