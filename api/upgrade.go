package api

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// An idle socket should cost as little memory as possible, so the upgrade
// keeps nothing fasthttp allocated for the HTTP request. fasthttp's own
// upgrade path (websocket.FastHTTPUpgrader) runs the socket inside fasthttp's
// hijack handler, which holds the RequestCtx (about 3.5 KB with its headers)
// and fasthttp's 4 KiB read buffer for the socket's whole life. Here the
// hijack handler takes the TCP connection out from under fasthttp (see
// lingerConn.handOff), answers the handshake with the websocket library's
// standard Upgrader and returns at once: fasthttp puts the context and the
// read buffer back in its pools for the next request, and the socket runs
// on a goroutine of its own.

// socketReadBuffer is the websocket library's read buffer per socket:
// chat frames are small, and a larger frame is read in several calls.
const socketReadBuffer = 512

// upgradeSocket switches ctx's connection to WebSocket, calls open on the
// hijacking goroutine and runs the function it returns (the socket's read
// loop) on a new goroutine; failed, when set, is called instead of open if
// the upgrade fails. The request must have passed checkHandshake.
func (s *Server) upgradeSocket(ctx *fasthttp.RequestCtx, subprotocols []string, open func(*websocket.Conn) (run func()), failed func()) {
	req := handshakeRequest(ctx)
	up := websocket.Upgrader{
		ReadBufferSize:   socketReadBuffer,
		WriteBufferPool:  unusedWritePool{}, // frames are written raw; see Conn
		Subprotocols:     subprotocols,
		HandshakeTimeout: s.cfg.WriteTimeout,
		CheckOrigin:      func(*http.Request) bool { return true }, // checked in admitSocket
	}
	ctx.HijackSetNoResponse(true) // the Upgrader writes the 101 itself
	ctx.Hijack(func(hijacked net.Conn) {
		taken, owned := takeConn(hijacked)
		conn := newReadMeter(taken)
		ws, err := up.Upgrade(&handshakeWriter{conn: conn}, req, nil)
		if err != nil {
			s.log.Debug("websocket upgrade failed", "err", err)
			_ = conn.Close()
			if failed != nil {
				failed()
			}
			return
		}
		// Reading waits as long as the socket lives: lift the HTTP read
		// timeout fasthttp set (takeConn already did on its own path).
		_ = conn.SetReadDeadline(time.Time{})
		run := open(ws)
		switch {
		case run == nil:
		case owned:
			go run()
		default:
			run() // fasthttp closes the connection when this returns
		}
	})
}

// checkHandshake refuses what the Upgrader would refuse, before the
// connection is hijacked, so that the refusal is a normal JSON error.
func checkHandshake(ctx *fasthttp.RequestCtx) error {
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		return detailError(EINVALID, "Expected a WebSocket upgrade request.")
	}
	if string(ctx.Request.Header.Peek("Sec-WebSocket-Version")) != "13" {
		return detailError(EINVALID, "Unsupported WebSocket version: Sec-WebSocket-Version must be 13.")
	}
	if !validChallengeKey(ctx.Request.Header.Peek("Sec-WebSocket-Key")) {
		return detailError(EINVALID, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes.")
	}
	return nil
}

// validChallengeKey reports whether key is base64 of 16 bytes (RFC 6455 4.1).
func validChallengeKey(key []byte) bool {
	b, err := base64.StdEncoding.DecodeString(string(key))
	return err == nil && len(b) == 16
}

// handshakeRequest copies what the Upgrader reads from the request.
func handshakeRequest(ctx *fasthttp.RequestCtx) *http.Request {
	h := http.Header{}
	for _, name := range []string{"Connection", "Upgrade", "Sec-WebSocket-Version", "Sec-WebSocket-Key", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Origin"} {
		if v := ctx.Request.Header.Peek(name); len(v) > 0 {
			h.Set(name, string(v))
		}
	}
	return &http.Request{Method: http.MethodGet, Header: h, Host: string(ctx.Host()), RequestURI: string(ctx.RequestURI())}
}

// takeConn takes the TCP connection under fasthttp's hijacked one, so that
// fasthttp can reuse its read buffer, and reports whether it did (owned:
// fasthttp's closing of the hijacked connection no longer closes it). A
// client must wait for the 101 before sending frames, but bytes one sent
// early sit in that buffer: they are copied out first (a read with a
// deadline in the past returns buffered bytes and consumes nothing from the
// socket) and read again before the socket's.
func takeConn(hijacked net.Conn) (conn net.Conn, owned bool) {
	u, ok := hijacked.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return hijacked, false
	}
	lc, ok := u.UnsafeConn().(*lingerConn)
	if !ok {
		return hijacked, false
	}
	lc.head.done = true // what follows is WebSocket frames, not headers
	if lc.SetReadDeadline(time.Unix(1, 0)) != nil {
		return hijacked, false
	}
	var early []byte
	buf := make([]byte, 128) // usually nothing is buffered
	for {
		n, err := hijacked.Read(buf)
		early = append(early, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	if lc.SetReadDeadline(time.Time{}) != nil {
		return hijacked, false
	}
	raw := lc.handOff()
	if len(early) > 0 {
		return &earlyConn{Conn: raw, early: early}, true
	}
	return raw, true
}

// earlyConn reads bytes received before the handshake ended, then the
// connection.
type earlyConn struct {
	net.Conn
	early []byte
}

func (c *earlyConn) Read(p []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(p, c.early)
		c.early = c.early[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// handshakeWriter is the http.ResponseWriter the Upgrader answers through:
// it hijacks to the raw connection, and writes the rare refusal the
// Upgrader makes itself (checkHandshake refuses the common ones first).
type handshakeWriter struct {
	conn   net.Conn
	header http.Header
	status int
}

func (w *handshakeWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *handshakeWriter) WriteHeader(status int) { w.status = status }

func (w *handshakeWriter) Write(body []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	detail, _ := json.Marshal(errorBody{Detail: strings.TrimSpace(string(body))})
	head := "HTTP/1.1 " + strconv.Itoa(w.status) + " " + http.StatusText(w.status) + "\r\n" +
		"Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(detail)) + "\r\nConnection: close\r\n\r\n"
	if _, err := w.conn.Write(append([]byte(head), detail...)); err != nil {
		return 0, err
	}
	return len(body), nil
}

func (w *handshakeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	// Nothing is buffered: the Upgrader reads the connection itself.
	rw := bufio.NewReadWriter(bufio.NewReaderSize(w.conn, 16), bufio.NewWriterSize(w.conn, 16))
	return w.conn, rw, nil
}

// unusedWritePool keeps the websocket library from allocating a write
// buffer per connection: LiveChat writes frames raw (see Conn), so the
// library's message writer, the only user of that buffer, is never called.
type unusedWritePool struct{}

func (unusedWritePool) Get() any { return nil }
func (unusedWritePool) Put(any)  {}
