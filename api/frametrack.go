package api

import "encoding/binary"

// frameTrack follows the frame headers in the bytes a socket's reader
// hands the websocket library, so that the reader can tell when the
// library holds nothing it has not parsed: the bytes given end exactly at
// the end of a message, and the reader has read every message given. Only
// then may the reader wait for the socket itself (readMeter.awaitBytes);
// otherwise a message sitting in the library's buffer would wait for the
// next bytes to arrive. Frames are parsed by RFC 6455's rules, as the
// library parses them; what the library refuses ends the socket anyway.
type frameTrack struct {
	skip    uint64   // payload bytes of the current frame not yet given
	given   int64    // messages whose final frame was given in full
	taken   int64    // messages the reader has read to their end (consumed)
	hdr     [14]byte // the current frame's header, while it is given in part
	hn      uint8    // bytes of hdr given
	ends    bool     // the current frame ends a message: FIN set, not a control frame
	partial bool     // bytes were given after the end of the last message
	// shortClose says a close frame with a one-byte payload was given,
	// which RFC 6455 (5.5.1) forbids: the library reports it as a close
	// without a status, like an empty one.
	shortClose bool
	// hugeLength says a frame's 64-bit payload length had its top bit
	// set, which RFC 6455 (5.2) forbids: the library reports it as a
	// frame over the read limit but, unlike one, sends no close frame.
	hugeLength bool
}

// feed follows p, bytes just given to the library.
func (t *frameTrack) feed(p []byte) {
	for len(p) > 0 {
		t.partial = true
		if t.skip > 0 {
			n := min(t.skip, uint64(len(p)))
			t.skip -= n
			p = p[n:]
			if t.skip == 0 {
				t.frameEnd()
			}
			continue
		}
		t.hdr[t.hn] = p[0]
		t.hn++
		p = p[1:]
		payload, ok := headerPayload(t.hdr[:t.hn])
		if !ok {
			continue
		}
		t.hn = 0
		t.ends = t.hdr[0]&0x80 != 0 && t.hdr[0]&0x08 == 0
		if t.hdr[0]&0x0f == 0x8 && payload == 1 {
			t.shortClose = true
		}
		if payload>>63 != 0 {
			t.hugeLength = true
		}
		if t.skip = payload; payload == 0 {
			t.frameEnd()
		}
	}
}

func (t *frameTrack) frameEnd() {
	if t.ends {
		t.given++
		t.partial = false
	}
}

// consumed records that the reader read a message to its end.
func (t *frameTrack) consumed() { t.taken++ }

// drained reports whether the library holds no bytes it has not parsed.
func (t *frameTrack) drained() bool { return !t.partial && t.taken == t.given }

// headerPayload is the payload length of the frame whose header starts
// h, once h holds all of it (ok).
func headerPayload(h []byte) (payload uint64, ok bool) {
	if len(h) < 2 {
		return 0, false
	}
	size, ext := 2, 0
	switch h[1] & 0x7f {
	case 126:
		ext = 2
	case 127:
		ext = 8
	}
	size += ext
	if h[1]&0x80 != 0 {
		size += 4 // masking key
	}
	if len(h) < size {
		return 0, false
	}
	switch ext {
	case 2:
		return uint64(binary.BigEndian.Uint16(h[2:])), true
	case 8:
		return binary.BigEndian.Uint64(h[2:]), true
	}
	return uint64(h[1] & 0x7f), true
}
