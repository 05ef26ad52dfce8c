package bench

import (
	"bytes"
	"strconv"
)

// payloadPrefix marks a message written by this load generator, version 1:
// "b1:<sender>:<n>:<unixnano>:" followed by padding to the configured size.
// A compact text prefix rather than JSON-in-text keeps both the encoder and
// the parser allocation-free.
const payloadPrefix = "b1:"

// minPayloadSize is the smallest message size accepted: the prefix with
// large numbers still fits, so every message has the configured size.
const minPayloadSize = 48

// padByte fills a message up to its size. It needs no JSON escaping.
const padByte = 'x'

// payload is what a receiver learns from one message text.
type payload struct {
	sender int   // global sender index
	n      int64 // the sender's message number, from 0
	sent   int64 // send time, Unix nanoseconds
}

// appendPayload appends the text of message n of sender, sent at sentNanos,
// padded with padByte to size bytes.
func appendPayload(dst []byte, p payload, size int) []byte {
	start := len(dst)
	dst = append(dst, payloadPrefix...)
	dst = strconv.AppendInt(dst, int64(p.sender), 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, p.n, 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, p.sent, 10)
	dst = append(dst, ':')
	for len(dst)-start < size {
		dst = append(dst, padByte)
	}
	return dst
}

// parsePayload reads a message text written by appendPayload. It reports
// false for any other text (a message from someone else, or mangled).
func parsePayload(msg []byte) (payload, bool) {
	rest, ok := bytes.CutPrefix(msg, []byte(payloadPrefix))
	if !ok {
		return payload{}, false
	}
	var f [3]int64
	for i := range f {
		end := bytes.IndexByte(rest, ':')
		if end <= 0 {
			return payload{}, false
		}
		v, ok := parseUint(rest[:end])
		if !ok {
			return payload{}, false
		}
		f[i], rest = v, rest[end+1:]
	}
	if !isPadding(rest) {
		return payload{}, false
	}
	return payload{sender: int(f[0]), n: f[1], sent: f[2]}, true
}

// padding is a run of padByte to compare padding against in one call.
var padding = bytes.Repeat([]byte{padByte}, 1024)

// isPadding reports whether b is padByte only.
func isPadding(b []byte) bool {
	for len(b) > len(padding) {
		if !bytes.Equal(b[:len(padding)], padding) {
			return false
		}
		b = b[len(padding):]
	}
	return bytes.Equal(b, padding[:len(b)])
}

// parseUint parses a non-negative decimal that fits in int64, without
// allocating.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, v >= 0
}

// appendClientID appends the idempotency key of a message: unique per run,
// sender and number, well under the protocol's 64 characters.
func appendClientID(dst []byte, runID string, p payload) []byte {
	dst = append(dst, runID...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(p.sender), 10)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, p.n, 10)
}

// appendSendFrame appends the client → server frame for one message:
// {"type":"chat.message","message":"…","client_id":"…"}. Payloads and
// client ids hold only characters that need no JSON escaping.
func appendSendFrame(dst []byte, runID string, p payload, size int) []byte {
	dst = append(dst, `{"type":"chat.message","message":"`...)
	dst = appendPayload(dst, p, size)
	dst = append(dst, `","client_id":"`...)
	dst = appendClientID(dst, runID, p)
	return append(dst, `"}`...)
}
