package api

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// wsExpectError reads the next frame and checks it is a chat.error of
// errorType with exactly the keys type, error_type, message.
func wsExpectError(t testing.TB, c *wsClient, errorType, what string) {
	t.Helper()
	f := c.next(t)
	var obj map[string]any
	if err := json.Unmarshal(f.raw, &obj); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(obj))
	if f.Type != "chat.error" || f.ErrorType != errorType || !slices.Equal(keys, []string{"error_type", "message", "type"}) {
		t.Fatalf("%s: got %s, want chat.error %s", what, f, errorType)
	}
	if msg, _ := obj["message"].(string); msg == "" {
		t.Fatalf("%s: chat.error without a message: %s", what, f)
	}
}

func TestWSBadFramesAnsweredWithoutClosing(t *testing.T) {
	ts := newWSTestServer(t, func(_ *Config, a *actors.Config) { a.StrikeBurst = 100 })
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	tooLong := strings.Repeat("가", 4097) // characters, not bytes, count
	cases := []struct {
		name string
		kind int
		data string
	}{
		{"not JSON", websocket.TextMessage, "hello"},
		{"invalid UTF-8", websocket.TextMessage, "{\"type\":\"chat.message\",\"message\":\"bad \xff\xfe byte\"}"},
		{"truncated JSON", websocket.TextMessage, `{"type":"chat.message","message":"x"`},
		{"binary frame", websocket.BinaryMessage, `{"type":"chat.message","message":"x"}`},
		{"array", websocket.TextMessage, `["chat.message"]`},
		{"string", websocket.TextMessage, `"chat.message"`},
		{"null", websocket.TextMessage, `null`},
		{"empty object", websocket.TextMessage, `{}`},
		{"missing type", websocket.TextMessage, `{"message":"hi"}`},
		{"unknown type", websocket.TextMessage, `{"type":"chat.shout","message":"hi"}`},
		{"non-string type", websocket.TextMessage, `{"type":7,"message":"hi"}`},
		{"missing message", websocket.TextMessage, `{"type":"chat.message"}`},
		{"null message", websocket.TextMessage, `{"type":"chat.message","message":null}`},
		{"empty message", websocket.TextMessage, `{"type":"chat.message","message":""}`},
		{"blank message", websocket.TextMessage, `{"type":"chat.message","message":" \n\t "}`},
		{"number message", websocket.TextMessage, `{"type":"chat.message","message":42}`},
		{"object message", websocket.TextMessage, `{"type":"chat.message","message":{"text":"hi"}}`},
		{"array message", websocket.TextMessage, `{"type":"chat.message","message":["hi"]}`},
		{"too long message", websocket.TextMessage, `{"type":"chat.message","message":"` + tooLong + `"}`},
		{"null character", websocket.TextMessage, `{"type":"chat.message","message":"a\u0000b"}`},
		{"lone surrogate", websocket.TextMessage, `{"type":"chat.message","message":"a\ud800b"}`},
		{"reversed surrogates", websocket.TextMessage, `{"type":"chat.message","message":"\ude00\ud83d"}`},
		{"lone surrogate client_id", websocket.TextMessage, `{"type":"chat.message","message":"hi","client_id":"c\udc00"}`},
		{"non-string client_id", websocket.TextMessage, `{"type":"chat.message","message":"hi","client_id":5}`},
		{"too long client_id", websocket.TextMessage, `{"type":"chat.message","message":"hi","client_id":"` + strings.Repeat("x", 65) + `"}`},
	}
	for _, tc := range cases {
		c.sendRaw(t, tc.kind, []byte(tc.data))
		wsExpectError(t, c, "invalid_request", tc.name)
	}
	// Still open, and the longest allowed message is accepted.
	longest := strings.Repeat("가", 4096)
	c.send(t, longest)
	if f := c.messages(t, 1)[0]; f.Message != longest || f.Seq != 1 {
		t.Fatalf("got %.80s…, want the 4096-character message", f)
	}
	// Nothing refused was stored, the frame with invalid UTF-8 included.
	if n, err := ts.store.LastSeq(room); err != nil || n != 1 {
		t.Fatalf("stored %d messages (%v), want 1", n, err)
	}
}

// wsExpectClosedAfter reads until the server closes, collecting frames, and
// checks the close code.
func wsExpectClosedAfter(t testing.TB, c *wsClient, code int) []wsFrame {
	t.Helper()
	var frames []wsFrame
	for {
		f, err := c.read(wsReadTimeout)
		if err == nil {
			frames = append(frames, f)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("connection ended with %v after %d frames, want close %d", err, len(frames), code)
		}
		return frames
	}
}

// wsWriteAll writes frames until one fails (the server closed).
func wsWriteAll(c *wsClient, n int, data []byte) {
	for range n {
		_ = c.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
		if c.conn.WriteMessage(websocket.TextMessage, data) != nil {
			return
		}
	}
}

func TestWSRepeatedBadFramesClose1008(t *testing.T) {
	ts := newWSTestServer(t, nil) // StrikeBurst 10
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	go wsWriteAll(c, 200, []byte("not json"))
	frames := wsExpectClosedAfter(t, c, websocket.ClosePolicyViolation)
	if len(frames) == 0 || len(frames) > 20 {
		t.Fatalf("%d chat.error frames before the close, want a few", len(frames))
	}
	for _, f := range frames {
		if f.Type != "chat.error" || f.ErrorType != "invalid_request" {
			t.Fatalf("got %s before the close", f)
		}
	}
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 0) })
}

func TestWSOversizeFrameCloses1009(t *testing.T) {
	const limit = 2048
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxFrameBytes = limit })
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	c.send(t, strings.Repeat("a", limit-100)) // under the limit: fine
	c.messages(t, 1)
	go wsWriteAll(c, 1, []byte(`{"type":"chat.message","message":"`+strings.Repeat("b", 64*1024)+`"}`))
	wsExpectClosedAfter(t, c, websocket.CloseMessageTooBig)
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 0) })
}
