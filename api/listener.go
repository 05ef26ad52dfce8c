package api

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// retryListener accepts the server's connections. It keeps accepting when
// the process runs out of file descriptors (fasthttp would stop serving on
// EMFILE, while the right answer is to wait for sockets to close and carry
// on), caps the connections open from one client address, and caps the
// connections open in all, REST and sockets alike, so that they never take
// the descriptors the database needs: a store that cannot open its next
// file fails every write, and Badger does not survive it.
type retryListener struct {
	net.Listener
	log        *slog.Logger
	lastWarn   time.Time
	addrs      *addrCounts
	maxPerAddr int
	open       atomic.Int64      // connections accepted and not yet closed
	maxOpen    int64             // 0: no cap
	onRefuse   func(kind string) // counts a refused connection: ip_cap or conn_cap
	// refusing bounds the refusals being answered at once; past it a
	// connection over the cap is closed without an answer.
	refusing chan struct{}
	// closeOnce lets both Shutdown and fasthttp close the listener.
	closeOnce sync.Once
}

// Close closes the listener once; a second Close is a no-op, so that
// Server.Shutdown can close a listener fasthttp may not have taken yet.
func (l *retryListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() { err = l.Listener.Close() })
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func newRetryListener(ln net.Listener, log *slog.Logger, maxPerAddr, maxOpen int, onRefuse func(kind string)) *retryListener {
	return &retryListener{Listener: ln, log: log, addrs: newAddrCounts(), maxPerAddr: maxPerAddr, maxOpen: int64(maxOpen),
		onRefuse: onRefuse, refusing: make(chan struct{}, 64)}
}

func (l *retryListener) Accept() (net.Conn, error) {
	delay := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if tcp, ok := c.(*net.TCPConn); ok && err == nil {
			if l.maxOpen > 0 && l.open.Load() >= l.maxOpen {
				l.onRefuse("conn_cap")
				l.refuse(tcp, serverFull)
				continue
			}
			addr := remoteAddr(tcp)
			if !l.addrs.take(addr, l.maxPerAddr) {
				l.onRefuse("ip_cap")
				l.refuse(tcp, tooManyConns)
				continue
			}
			l.open.Add(1)
			return &lingerConn{TCPConn: tcp, release: func() { l.addrs.give(addr); l.open.Add(-1) }}, nil
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

// remoteAddr is a connection's client address, IPv4 in its 4-byte form.
func remoteAddr(c *net.TCPConn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// tooManyConns is the answer to a connection over the per-address cap,
// and serverFull to one over the cap of all connections, written before
// its request is read.
var (
	tooManyConns = refusal("429 Too Many Requests", `{"detail":"Too many connections from your address."}`)
	serverFull   = refusal("503 Service Unavailable", `{"detail":"The server has no room for another connection; try again later."}`)
)

func refusal(status, body string) []byte {
	return []byte("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body)
}

// refuse answers a connection over a cap with answer and closes it,
// lingering so that the client reads the answer rather than a reset.
// The answer fits the socket's empty send buffer, so the write does not
// wait. A refusal holds its slot in refusing until its lingering close is
// over: the descriptors refused connections hold are bounded too, or one
// address connecting fast would hold a descriptor per connection for the
// lingering time whatever its cap. Past the slots a connection is closed
// bare.
func (l *retryListener) refuse(c *net.TCPConn, answer []byte) {
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(answer); err != nil {
			_ = c.Close()
			return
		}
		lingerClose(c)
	}()
}

// addrCounts counts open connections per client address.
type addrCounts struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

func newAddrCounts() *addrCounts { return &addrCounts{n: make(map[netip.Addr]int)} }

// take counts one more connection from addr unless max are open.
func (a *addrCounts) take(addr netip.Addr, max int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[addr] >= max {
		return false
	}
	a.n[addr]++
	return true
}

// give counts one connection from addr closed.
func (a *addrCounts) give(addr netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[addr]--; a.n[addr] <= 0 {
		delete(a.n, addr)
	}
}

// Bounds of a lingering close: how long, and how many bytes of a request
// the client is still sending, the server reads and discards after
// refusing it.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 16 << 20
)

// lingerConn is an accepted connection that can close the way web servers
// close after refusing a request they did not read whole (a body over the
// limit, a malformed request): send the answer and a FIN, then read and
// discard what the client is still sending for a bounded time before the
// final close. Closing with unread data would make the kernel reset the
// connection, and the reset destroys the answer (a 413) before a client
// still busy sending its body can read it.
//
// It is also how a WebSocket leaves fasthttp (handOff), and where a
// request's header block is watched for a bare-LF end (headScan).
type lingerConn struct {
	*net.TCPConn
	linger    atomic.Bool
	handedOff atomic.Bool
	release   func() // counts the connection closed for its address; may be nil
	released  sync.Once

	// Read by fasthttp's one goroutine for the connection, then by the
	// hijack handler: no lock.
	head   headScan
	bareLF bool // the header block ended with a bare LF: fail the next read
}

// handOff gives the connection to a new owner: from now on Close is a no-op
// for fasthttp, which closes the hijacked connection once its hijack
// handler returns, and the owner closes the returned connection itself.
func (c *lingerConn) handOff() net.Conn {
	c.handedOff.Store(true)
	return &ownedConn{TCPConn: c.TCPConn, lc: c}
}

// ownedConn is a connection handed off by fasthttp; closing it counts it
// closed for its address.
type ownedConn struct {
	*net.TCPConn
	lc *lingerConn
}

func (c *ownedConn) Close() error {
	err := c.TCPConn.Close()
	c.lc.closed()
	return err
}

// closed counts the connection closed for its client address, once.
func (c *lingerConn) closed() {
	if c.release != nil {
		c.released.Do(c.release)
	}
}

// errBareLF fails the read of a request whose header block fasthttp would
// wait on forever (see headScan).
var errBareLF = errors.New("api: request header lines end with a bare LF")

func (c *lingerConn) Read(p []byte) (int, error) {
	if c.bareLF {
		return 0, errBareLF
	}
	n, err := c.TCPConn.Read(p)
	if c.head.scan(p[:n]) {
		c.bareLF = true // these bytes first, the error on the next read
	}
	return n, err
}

// nextRequest tells c that the request whose Content-Length is bodyLen,
// as fasthttp reports it (-2: none, so no body; -1: chunked, a length not
// known), was read whole, and the bytes after it begin a new request.
// fasthttp calls the handler once the request's body is read whole.
func nextRequest(c net.Conn, bodyLen int) {
	if lc, ok := c.(*lingerConn); ok {
		if bodyLen == -2 {
			bodyLen = 0
		}
		lc.head.next(bodyLen)
	}
}

// headScan follows a request's line and headers to where fasthttp sees
// them end: an empty line ended by CRLF after a line ended by CRLF. A
// blank line ended by a bare LF does not end them for fasthttp, which
// keeps waiting for more input (until the header timeout) while the client
// waits for an answer; headScan spots it so that the read fails and the
// request is answered 400 at once. Past the end of the headers (the body,
// or a connection that left HTTP) nothing is scanned.
//
// Scanning starts again only where the next request begins: right after
// the body. A client that pipelines may have sent bytes of the next
// request before this one was handled, and a body of unknown length has no
// known end; scanning from the middle of a request would take a blank
// line in a body for the end of headers, so such a connection is not
// scanned any more (a bare-LF request on it waits for the header timeout).
type headScan struct {
	done     bool  // past the header block
	off      bool  // not scanned any more (see above)
	started  bool  // a byte other than CR or LF was seen (blank lines before a request are skipped)
	lineLen  int   // bytes in the current line so far
	lastCR   bool  // the last byte was CR
	prevCRLF bool  // the previous line ended with CRLF
	read     int64 // bytes read from the connection so far
	end      int64 // bytes read up to the end of the last header block
}

// next starts the scan of the request after one whose body had bodyLen
// bytes, or stops scanning when that request's end is not where the
// next one's bytes begin.
func (h *headScan) next(bodyLen int) {
	if h.off {
		return
	}
	if !h.done || bodyLen < 0 || h.read != h.end+int64(bodyLen) {
		h.done, h.off = true, true
		return
	}
	*h = headScan{read: h.read, end: h.end}
}

// scan follows b and reports a header block ended by a bare LF.
func (h *headScan) scan(b []byte) (bareLF bool) {
	at := h.read
	h.read += int64(len(b))
	if h.done {
		return false
	}
	for i, ch := range b {
		if !h.started {
			if ch == '\r' || ch == '\n' {
				continue
			}
			h.started = true
		}
		if ch != '\n' {
			h.lineLen++
			h.lastCR = ch == '\r'
			continue
		}
		crlf := h.lastCR
		if h.lineLen == 0 || (h.lineLen == 1 && crlf) { // a blank line
			h.done, h.end = true, at+int64(i)+1
			return !crlf || !h.prevCRLF
		}
		h.prevCRLF = crlf
		h.lineLen, h.lastCR = 0, false
	}
	return false
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
		defer c.closed()
		return c.TCPConn.Close()
	}
	go func() {
		lingerClose(c.TCPConn)
		c.closed()
	}()
	return nil
}

// lingerClose closes c once the client has read what was written: it
// closes the sending side, reads and drops what the client still sends
// (bounded in time and bytes), then closes.
func lingerClose(c *net.TCPConn) {
	if c.CloseWrite() == nil {
		_ = c.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.CopyN(io.Discard, c, lingerBytes)
	}
	_ = c.Close()
}
