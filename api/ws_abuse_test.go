package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// wsPingFrames is n masked client ping frames, each with a payload of
// size bytes (at most 125), laid out for one write.
func wsPingFrames(n, size int) []byte {
	return bytes.Repeat(clientFrame(0x89, bytes.Repeat([]byte("p"), size)), n) // FIN|ping
}

// wsFloodPings writes ping frames on conn, never reading, until d passes
// or a write fails (the server closed the connection). It returns how
// many pings it wrote.
func wsFloodPings(conn net.Conn, d time.Duration) int {
	const perWrite = 64
	batch := wsPingFrames(perWrite, 125)
	sent, rest := 0, batch
	for end := time.Now().Add(d); time.Now().Before(end); {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		// A write that times out (the server is not reading now) may
		// have written part of a frame: the rest goes next, frames whole.
		n, err := conn.Write(rest)
		rest = rest[n:]
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			break
		}
		if len(rest) == 0 {
			sent += perWrite
			rest = batch
		}
	}
	return sent
}

// wsOnlyConn waits until the server holds exactly one socket and returns it.
func wsOnlyConn(t testing.TB, ts *wsTestServer) *Conn {
	t.Helper()
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 1) })
	return ts.srv.conns.snapshot()[0]
}

// TestWSPingFloodClosesWith1008UnderOutboundLimit floods pings on a socket
// that never reads: the server answers the first few, counts the rest as
// bad frames and closes with 1008, and the socket's outbound queue never
// holds more than its limit.
func TestWSPingFloodClosesWith1008UnderOutboundLimit(t *testing.T) {
	const limit = 2048
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxOutboundBytes = limit })
	u := ts.newUser(t, "pinger")
	room := ts.newRoom(t, u)
	conn := wsRawDial(t, ts, u, room)
	c := wsOnlyConn(t, ts)

	sent := wsFloodPings(conn, 500*time.Millisecond)
	code, err := wsRawCloseCode(conn)
	if code != actors.ClosePolicy {
		t.Fatalf("after %d pings: close code %d (%v), want %d", sent, code, err, actors.ClosePolicy)
	}
	if peak := c.peakQueued(); peak > limit {
		t.Fatalf("the outbound queue held %d bytes, limit %d", peak, limit)
	}
	t.Logf("%d pings sent; outbound queue peak %d bytes", sent, c.peakQueued())
}

// TestWSPingFloodAfterCloseIsCutOff keeps flooding pings after the server
// closed the socket with 1008: the server does not read them until its
// (here long) close timeout, it cuts the connection off, so that the
// client's writes fail.
func TestWSPingFloodAfterCloseIsCutOff(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.WriteTimeout = time.Minute })
	u := ts.newUser(t, "pinger")
	room := ts.newRoom(t, u)
	conn := wsRawDial(t, ts, u, room)
	c := wsOnlyConn(t, ts)
	wsFloodPings(conn, 100*time.Millisecond)
	wsEventually(t, wsReadTimeout, func() error {
		if !c.isClosing() {
			return errors.New("the flooding socket is not closed yet")
		}
		return nil
	})
	batch := wsPingFrames(64, 125)
	for end := time.Now().Add(wsReadTimeout); ; {
		if time.Now().After(end) {
			t.Fatalf("the server still reads pings sent after its close")
		}
		_ = conn.SetWriteDeadline(end)
		if _, err := conn.Write(batch); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection is still open after the close: %v", err)
			}
			break // reset by the server
		}
	}
}

// TestWSPongReplacesPendingPong floods pings, with no ping limit, on a
// socket that never reads: at most one pong is ever queued (RFC 6455
// 5.5.3), so the unsent bytes are no more than that pong and the one a
// write blocked on the full socket holds.
func TestWSPongReplacesPendingPong(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) {
		c.ClientPingRate, c.ClientPingBurst = 1e9, 1e9
	})
	u := ts.newUser(t, "pinger")
	room := ts.newRoom(t, u)
	conn := wsRawDial(t, ts, u, room)
	c := wsOnlyConn(t, ts)

	sent := wsFloodPings(conn, 500*time.Millisecond)
	if sent < 1000 {
		t.Fatalf("only %d pings written", sent)
	}
	if peak, pong := c.peakQueued(), frameSize(125); peak > 2*pong {
		t.Fatalf("after %d pings %d bytes were unsent; one pong is %d", sent, peak, pong)
	}
	if ts.srv.Connections() != 1 {
		t.Fatalf("the socket was closed; pings within the limit are answered, not refused")
	}
}

// TestWSUserSocketCapRefusesBeforeUpgrade opens a user's sockets up to the
// cap across two rooms: the next is refused with 429 and a JSON detail,
// another user is not affected, and closing one makes room again.
func TestWSUserSocketCapRefusesBeforeUpgrade(t *testing.T) {
	const userCap = 3
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxUserSockets = userCap })
	u := ts.newUser(t, "many")
	rooms := []int64{ts.newRoom(t, u), ts.newRoom(t, u)}
	var open []*wsClient
	for i := range userCap {
		open = append(open, ts.dial(t, u, rooms[i%2], ""))
	}
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, userCap) })
	_, resp, err := ts.dialWS(ts.wsURL(rooms[1], "token="+u.token), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("socket %d of a user: %v, %s; want 429", userCap+1, err, wsResponseBody(resp))
	}
	if body := wsResponseBody(resp); !strings.Contains(body, `{"detail":"Too many open sockets for this user`) {
		t.Fatalf("429 body %s", body)
	}
	ts.dial(t, ts.newUser(t, "other"), rooms[0], "")

	open[0].closeNormally(t)
	wsEventually(t, wsReadTimeout, func() error {
		if n := ts.srv.conns.userCount(u.id); n != userCap-1 {
			return fmt.Errorf("user has %d sockets", n)
		}
		return nil
	})
	ts.dial(t, u, rooms[1], "")
}

// TestWSSocketOpenedDuringShutdownGets1001 opens a socket after shutdown
// has started closing sockets but before the listener stopped: it is
// closed with 1001, like every socket at shutdown, not 1013.
func TestWSSocketOpenedDuringShutdownGets1001(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "late")
	room := ts.newRoom(t, u)
	ts.srv.conns.closeAll(actors.CloseGoingAway, "server shutting down")
	ts.dial(t, u, room, "").expectClose(t, actors.CloseGoingAway)
}

// wsEscapedMessageFrame is a chat.message frame whose message is n emoji
// and whose client_id is 64 characters, every character written as a JSON
// \u escape (a surrogate pair for each emoji): the longest encoding of a
// maximal message.
func wsEscapedMessageFrame(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"chat.message","message":"`)
	for range n {
		b.WriteString(`\ud83d\ude00`) // 😀
	}
	b.WriteString(`","client_id":"`)
	for range maxClientIDChars {
		b.WriteString(`\ud83d\ude00`)
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// TestWSFrameLimitFitsMaximalEscapedMessage sends a maximal message of
// emoji, fully \u-escaped, under the default frame limit: it is accepted.
// A frame one byte over the limit closes with 1009.
func TestWSFrameLimitFitsMaximalEscapedMessage(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "emoji")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	limit, chars := ts.srv.cfg.MaxFrameBytes, ts.srv.cfg.MaxMessageChars

	frame := wsEscapedMessageFrame(chars)
	if len(frame) > limit {
		t.Fatalf("a maximal escaped frame has %d bytes, over the %d-byte limit", len(frame), limit)
	}
	c.sendRaw(t, websocket.TextMessage, frame)
	got := c.messages(t, 1)[0]
	if want := strings.Repeat("😀", chars); got.Message != want {
		t.Fatalf("echo has %d characters, want %d emoji", len([]rune(got.Message)), chars)
	}

	over := append(frame, bytes.Repeat([]byte(" "), limit+1-len(frame))...)
	c.sendRaw(t, websocket.TextMessage, over)
	c.expectClose(t, websocket.CloseMessageTooBig)
}

// TestWSPongFloodClosesWith1008 floods unsolicited pongs: they share the
// ping rate, so the flood is closed with 1008 instead of costing the
// server a core for as long as the client keeps at it.
func TestWSPongFloodClosesWith1008(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "ponger")
	room := ts.newRoom(t, u)
	conn := wsRawDial(t, ts, u, room)
	pongs := wsPingFrames(64, 16)
	for i := 0; i < len(pongs); i += 16 + 6 {
		pongs[i] = 0x8a // FIN|pong
	}
	sent := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); sent += 64 {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(pongs); err != nil {
			break
		}
	}
	if code, err := wsRawCloseCode(conn); code != actors.ClosePolicy {
		t.Fatalf("after %d pongs: close code %d (%v), want %d", sent, code, err, actors.ClosePolicy)
	}
}

// A message that never ends, made of empty continuation frames, is read by
// the websocket library in a loop LiveChat never sees: its bytes are
// bounded like its payload, and past the frame limit and the slack the
// socket is closed 1009. A long message in ordinary fragments still passes.
func TestWSEmptyContinuationFloodClosesWith1009(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "fragments")
	room := ts.newRoom(t, u)

	// A message in many small fragments, within the limits, is fine.
	text := strings.Repeat("말", 1000)
	frame := `{"type":"chat.message","message":"` + text + `"}`
	var fragments []byte
	for i := 0; i < len(frame); i += 7 {
		op := byte(0x00) // continuation
		if i == 0 {
			op = 0x01 // text
		}
		if i+7 >= len(frame) {
			op |= 0x80 // final
		}
		fragments = append(fragments, clientFrame(op, []byte(frame[i:min(i+7, len(frame))]))...)
	}
	first := wsRawDial(t, ts, u, room)
	if _, err := first.Write(fragments); err != nil {
		t.Fatal(err)
	}
	_ = first.SetReadDeadline(time.Now().Add(wsReadTimeout))
	br := bufio.NewReader(first)
	for {
		op, payload := readServerFrame(t, br)
		if op == 8 {
			t.Fatalf("closed after a fragmented message: %q", payload)
		}
		if bytes.Contains(payload, []byte(`"chat.message"`)) {
			if !bytes.Contains(payload, []byte(text)) {
				t.Fatalf("the fragmented message came back as %.60s…", payload)
			}
			break
		}
	}

	conn := wsRawDial(t, ts, u, room)
	start := clientFrame(0x01, []byte("{")) // text, not final
	empty := bytes.Repeat(clientFrame(0x00, nil), 1<<13)
	if _, err := conn.Write(start); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && sent < 4<<20; sent += len(empty) {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(empty); err != nil {
			break
		}
	}
	if code, err := wsRawCloseCode(conn); code != websocket.CloseMessageTooBig {
		t.Fatalf("after %d bytes of empty continuation frames: close code %d (%v), want %d", sent, code, err, websocket.CloseMessageTooBig)
	}
}

// A frame whose header claims more than the frame limit is refused with
// 1009 as soon as its header is read: the server does not wait for a
// payload that may never come (here 1 TiB, of which nothing is sent). A
// 64-bit length with its top bit set breaks RFC 6455 (5.2: the most
// significant bit MUST be 0) and is refused with 1002. Either way, first
// frame or continuation.
func TestWSHugeFrameHeaderClosesAtOnce(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "header")
	room := ts.newRoom(t, u)
	for _, length := range []struct {
		bytes []byte
		want  int
	}{
		{[]byte{0, 0, 1, 0, 0, 0, 0, 0}, websocket.CloseMessageTooBig}, // 2^40
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, websocket.CloseProtocolError},
	} {
		for _, first := range []bool{true, false} {
			conn := wsRawDial(t, ts, u, room)
			var header []byte
			op := byte(0x81) // final text
			if !first {      // the claim comes in a continuation frame
				header = clientFrame(0x01, []byte("{"))
				op = 0x80 // final continuation
			}
			header = append(append(header, op, 0x80|127), length.bytes...)
			header = append(header, 1, 2, 3, 4) // masked
			if _, err := conn.Write(header); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			if code, err := wsRawCloseCode(conn); code != length.want {
				t.Fatalf("length % x, first frame %v: close code %d (%v) after %s, want %d at once", length.bytes, first, code, err, time.Since(began).Round(time.Millisecond), length.want)
			}
		}
	}
}

// A close frame's payload is empty or holds a two-byte code (RFC 6455
// 5.5.1): one byte is a protocol error, answered 1002, while an empty one
// is answered 1000.
func TestWSOneByteClosePayloadIsProtocolError(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "closer")
	room := ts.newRoom(t, u)
	for _, tc := range []struct {
		frame []byte
		want  int
	}{
		{clientFrame(0x88, []byte{3}), websocket.CloseProtocolError},
		{clientFrame(0x88, nil), websocket.CloseNormalClosure},
	} {
		conn := wsRawDial(t, ts, u, room)
		if _, err := conn.Write(tc.frame); err != nil {
			t.Fatal(err)
		}
		if code, err := wsRawCloseCode(conn); code != tc.want {
			t.Fatalf("close frame % x: answered %d (%v), want %d", tc.frame, code, err, tc.want)
		}
	}
}
