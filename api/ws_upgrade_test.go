package api

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawUpgrade writes an upgrade request for room (plus extra bytes in the
// same write) on a plain TCP connection and returns the connection and its
// reader, positioned after the response head.
func rawUpgrade(t *testing.T, ts *wsTestServer, u *wsUser, room int64, headers map[string]string, extra []byte) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := map[string]string{
		"Host": ts.addr, "Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
	}
	for k, v := range headers {
		h[k] = v
	}
	req := "GET /ws/chat/" + strconv.FormatInt(room, 10) + "/chat/?token=" + u.token + " HTTP/1.1\r\n"
	for k, v := range h {
		if v != "" {
			req += k + ": " + v + "\r\n"
		}
	}
	if _, err := conn.Write(append([]byte(req+"\r\n"), extra...)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn, br, resp
}

// readServerFrame reads one unmasked server frame of under 64 KiB.
func readServerFrame(t *testing.T, br *bufio.Reader) (opcode byte, payload []byte) {
	t.Helper()
	var head [2]byte
	if _, err := br.Read(head[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := br.Read(head[1:]); err != nil {
		t.Fatal(err)
	}
	n := int(head[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		for i := range ext {
			b, err := br.ReadByte()
			if err != nil {
				t.Fatal(err)
			}
			ext[i] = b
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	payload = make([]byte, n)
	for i := range payload {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		payload[i] = b
	}
	return head[0] & 0x0f, payload
}

// A client that sends its first frame in the same write as the upgrade
// request (before it could see the 101) still has it read: the bytes the
// HTTP server had buffered are handed to the socket.
func TestWSFrameSentWithTheHandshakeIsRead(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "early")
	room := ts.newRoom(t, u)
	frame := clientFrame(0x81, []byte(`{"type":"chat.message","message":"sent before the 101"}`))
	_, br, resp := rawUpgrade(t, ts, u, room, nil, frame)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	for range 5 {
		op, payload := readServerFrame(t, br)
		var f struct{ Type, Message string }
		if op != 1 || json.Unmarshal(payload, &f) != nil {
			t.Fatalf("opcode %d payload %q", op, payload)
		}
		if f.Type == "chat.message" {
			if f.Message != "sent before the 101" {
				t.Fatalf("message %q", f.Message)
			}
			return
		}
	}
	t.Fatal("no chat.message for the early frame")
}

// Handshakes the WebSocket layer would refuse are refused before the
// upgrade, in the API's JSON error shape, and leave no socket open.
func TestWSBadHandshakeHeaders(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "hs")
	room := ts.newRoom(t, u)
	cases := map[string]map[string]string{
		"version 8":        {"Sec-WebSocket-Version": "8"},
		"no version":       {"Sec-WebSocket-Version": ""},
		"short key":        {"Sec-WebSocket-Key": "c2hvcnQ="},
		"no key":           {"Sec-WebSocket-Key": ""},
		"key not base64":   {"Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!=="},
		"no upgrade token": {"Upgrade": "h2c"},
	}
	for name, headers := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, resp := rawUpgrade(t, ts, u, room, headers, nil)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body["detail"] == nil {
				t.Errorf("body %v (%v), want a detail", body, err)
			}
		})
	}
	if n := ts.srv.Connections(); n != 0 {
		t.Errorf("%d sockets open after refusals", n)
	}
}

// A protocol violation is answered with one close frame (1002, sent by the
// websocket library), and nothing after it: RFC 6455 allows no frame after
// a close.
func TestWSProtocolErrorSendsOneClose(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "proto")
	room := ts.newRoom(t, u)
	rsv1 := clientFrame(0x81|0x40, []byte(`{"type":"chat.message","message":"x"}`))
	unmasked := []byte{0x81, 0x02, '{', '}'}
	opcode3 := clientFrame(0x83, []byte("{}"))
	// A violation after a message's first fragment is met by the library
	// while LiveChat reads the message, not while it waits for the next.
	first := clientFrame(0x01, []byte("{"))                // text, not final
	badContinuation := clientFrame(0x80|0x40, []byte("}")) // final continuation, rsv1
	midMessage := append(first, badContinuation...)
	for name, frame := range map[string][]byte{"rsv1": rsv1, "unmasked": unmasked, "opcode 3": opcode3, "rsv1 mid-message": midMessage} {
		t.Run(name, func(t *testing.T) {
			conn, br, resp := rawUpgrade(t, ts, u, room, nil, nil)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if _, err := conn.Write(frame); err != nil {
				t.Fatal(err)
			}
			var closes []string
			for {
				if _, err := br.Peek(1); err != nil {
					break // the server closed the connection
				}
				op, payload := readServerFrame(t, br)
				if op == 8 {
					code := 0
					if len(payload) >= 2 {
						code = int(payload[0])<<8 | int(payload[1])
					}
					closes = append(closes, strconv.Itoa(code))
				}
			}
			if len(closes) != 1 || closes[0] != "1002" {
				t.Fatalf("close frames %v, want exactly one 1002", closes)
			}
		})
	}
}
