package api

import (
	"bytes"
	"testing"
	"time"
)

// The tracker counts a message once its final frame is given in full,
// whatever the cuts between reads, and says drained only when the bytes
// given end at a message's end and every message was read.
func TestFrameTrackCountsMessagesAcrossCuts(t *testing.T) {
	text := func(s string) []byte { return clientFrame(0x81, []byte(s)) }
	big := clientFrame(0x81, bytes.Repeat([]byte("x"), 300))     // 16-bit length
	huge := clientFrame(0x82, bytes.Repeat([]byte("y"), 70_000)) // 64-bit length
	fragmented := append(append(clientFrame(0x01, []byte("he")), clientFrame(0x89, []byte("ping"))...), clientFrame(0x80, []byte("llo"))...)
	empty := clientFrame(0x81, nil)
	cases := []struct {
		name     string
		stream   []byte
		messages int64
		partial  bool // bytes after the last message's end
	}{
		{"one", text("a"), 1, false},
		{"two at once", append(text("a"), text("b")...), 2, false},
		{"16-bit length", big, 1, false},
		{"64-bit length", huge, 1, false},
		{"fragments around a ping", fragmented, 1, false},
		{"empty message", empty, 1, false},
		{"a ping after", append(text("a"), clientFrame(0x89, nil)...), 1, true},
		{"the next one begun", append(text("a"), text("b")[:3]...), 1, true},
		{"first fragment only", clientFrame(0x01, []byte("he")), 0, true},
	}
	for _, tc := range cases {
		for _, cut := range []int{1, 2, 3, 7, 512, len(tc.stream)} {
			var tr frameTrack
			for p := tc.stream; len(p) > 0; {
				n := min(cut, len(p))
				tr.feed(p[:n])
				p = p[n:]
			}
			if tr.given != tc.messages || tr.partial != tc.partial {
				t.Errorf("%s, reads of %d: %d messages, partial %v; want %d, %v", tc.name, cut, tr.given, tr.partial, tc.messages, tc.partial)
			}
			for range tc.messages {
				if tr.drained() {
					t.Errorf("%s, reads of %d: drained with a message unread", tc.name, cut)
				}
				tr.consumed()
			}
			if tr.drained() == tc.partial {
				t.Errorf("%s, reads of %d: drained %v with partial %v", tc.name, cut, tr.drained(), tc.partial)
			}
		}
	}
}

// Whatever way a client's frames arrive (two messages in one write, a
// message cut between writes, pings before and after a message, a
// fragmented message), every message is answered without waiting for
// more bytes: the reader waits on the socket only when the websocket
// library holds nothing unread.
func TestWSReaderServesFramesHowever(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "frames")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	raw := c.conn.NetConn()
	msg := func(s string) []byte { return clientFrame(0x81, []byte(`{"type":"chat.message","message":"`+s+`"}`)) }
	write := func(p []byte) {
		t.Helper()
		_ = raw.SetWriteDeadline(time.Now().Add(wsReadTimeout))
		if _, err := raw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	ping := clientFrame(0x89, []byte("p"))
	fragmented := append(append(clientFrame(0x01, []byte(`{"type":"chat.message",`)), ping...), clientFrame(0x80, []byte(`"message":"m7"}`))...)
	steps := []struct {
		writes [][]byte
		want   []string
	}{
		{[][]byte{append(msg("m1"), msg("m2")...)}, []string{"m1", "m2"}},
		{[][]byte{msg("m3")[:5], msg("m3")[5:]}, []string{"m3"}},
		{[][]byte{append(append([]byte{}, ping...), msg("m4")...)}, []string{"m4"}},
		{[][]byte{append(msg("m5"), ping...)}, []string{"m5"}},
		{[][]byte{msg("m6")}, []string{"m6"}},
		{[][]byte{fragmented}, []string{"m7"}},
		{[][]byte{append(msg("m8"), msg("m9")[:9]...), msg("m9")[9:]}, []string{"m8", "m9"}},
	}
	for _, step := range steps {
		for _, w := range step.writes {
			write(w)
			time.Sleep(20 * time.Millisecond) // let the server read each write alone
		}
		for i, f := range c.messages(t, len(step.want)) {
			if f.Message != step.want[i] {
				t.Fatalf("answered %q, want %q", f.Message, step.want[i])
			}
		}
	}
}

// The tracker marks the headers RFC 6455 forbids that the library does not
// answer itself: a one-byte close payload and a 64-bit length with its top
// bit set (a length over the read limit without it is the library's).
func TestFrameTrackMarksForbiddenHeaders(t *testing.T) {
	for _, tc := range []struct {
		header           []byte
		shortClose, huge bool
	}{
		{append([]byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1, 2, 3, 4), false, true},
		{append([]byte{0x81, 0x80 | 127, 0, 0, 1, 0, 0, 0, 0, 0}, 1, 2, 3, 4), false, false},
		{clientFrame(0x88, []byte{3}), true, false},
		{clientFrame(0x88, nil), false, false},
	} {
		var tr frameTrack
		for _, b := range tc.header { // a byte at a time: headers cut anywhere
			tr.feed([]byte{b})
		}
		if tr.shortClose != tc.shortClose || tr.hugeLength != tc.huge {
			t.Errorf("header % x: shortClose %v hugeLength %v, want %v %v", tc.header, tr.shortClose, tr.hugeLength, tc.shortClose, tc.huge)
		}
	}
}
