package bench

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"unicode/utf8"
)

// errFrame reports a server frame that is not a JSON object.
var errFrame = errors.New("bench: malformed frame")

// frame holds the fields of a server → client frame that receivers need.
// Byte slices alias the input buffer.
type frame struct {
	typ     []byte // value of "type", unescaped
	message []byte // value of "message", unescaped
	seq     int64  // value of "seq"
	hasSeq  bool
	room    int64 // value of "room" when it is a number (not the object of inbox.room.add)
	hasRoom bool
	last    []byte // raw value of "last_message" when it is an object (inbox.message)
}

// scanFrame extracts "type", "message", "seq", "room" and "last_message"
// (raw, to be scanned in turn) from a top-level JSON
// object without decoding the rest: it walks the object's keys and skips
// the other values. It is exact for frames without escapes in those fields
// and falls back to encoding/json when a key or one of those strings has an
// escape or invalid UTF-8, so on valid JSON it agrees with encoding/json
// (FuzzScanFrame checks it), only sometimes slower.
func scanFrame(b []byte) (frame, error) {
	var f frame
	err := walkObject(b, func(key []byte, esc bool, i int) (int, error) {
		if esc {
			return 0, errNeedsDecode
		}
		return f.scanValue(b, i, key)
	})
	if errors.Is(err, errNeedsDecode) {
		return decodeFrame(b)
	}
	return f, err
}

// walkObject walks the JSON object b: for each key it calls value with
// the key as written (esc: it has escapes) and the index of its value;
// value returns the index just after that value. Only whitespace may
// follow the object. It stops at the first error, value's included.
func walkObject(b []byte, value func(key []byte, esc bool, i int) (int, error)) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errFrame
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		key, esc, next, err := scanString(b, i)
		if err != nil {
			return err
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return errFrame
		}
		if i, err = value(key, esc, skipWS(b, i+1)); err != nil {
			return err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return errFrame
		}
		switch b[i] {
		case '}':
			return trailing(b, i+1)
		case ',':
			i = skipWS(b, i+1)
		default:
			return errFrame
		}
	}
}

// errNeedsDecode asks scanFrame to fall back to encoding/json.
var errNeedsDecode = errors.New("bench: frame needs a full decode")

// scanValue reads the value at b[i] for key and returns the index after it.
func (f *frame) scanValue(b []byte, i int, key []byte) (int, error) {
	switch string(key) {
	case "type", "message":
		if i >= len(b) || b[i] != '"' {
			return skipValue(b, i)
		}
		s, esc, next, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		if esc || !utf8.Valid(s) { // encoding/json would rewrite it
			return 0, errNeedsDecode
		}
		if key[0] == 't' {
			f.typ = s
		} else {
			f.message = s
		}
		return next, nil
	case "seq", "room":
		end, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		v, ok := parseUint(b[i:end])
		switch {
		case ok && key[0] == 's':
			f.seq, f.hasSeq = v, true
		case ok:
			f.room, f.hasRoom = v, true
		case key[0] == 's' || b[i] != '{':
			return 0, errNeedsDecode
		default:
			f.room, f.hasRoom = 0, false // an object: inbox.room.add's room
		}
		return end, nil
	case "last_message":
		end, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		f.last = nil
		if b[i] == '{' {
			f.last = b[i:end]
		}
		return end, nil
	}
	return skipValue(b, i)
}

// decodeFrame is the slow, general path of scanFrame. It decodes into a
// map because keys must match exactly (a struct would match "messAge").
func decodeFrame(b []byte) (frame, error) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil || v == nil {
		return frame{}, errors.Join(errFrame, err)
	}
	var f frame
	str := func(key string) []byte {
		var s string
		if raw, ok := v[key]; ok && json.Unmarshal(raw, &s) == nil {
			return []byte(s)
		}
		return nil
	}
	f.typ, f.message = str("type"), str("message")
	if raw, ok := v["seq"]; ok {
		f.seq, f.hasSeq = jsonCount(raw)
	}
	if raw, ok := v["room"]; ok {
		f.room, f.hasRoom = jsonCount(raw)
	}
	if raw, ok := v["last_message"]; ok && len(raw) > 0 && raw[0] == '{' {
		f.last = raw
	}
	return f, nil
}

// jsonCount is a JSON number's value when encoding/json reads it as a
// non-negative int64: the numbers parseUint leaves to the slow path, such
// as -0, read as encoding/json reads them.
func jsonCount(raw json.RawMessage) (int64, bool) {
	var n int64
	if json.Unmarshal(raw, &n) != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// hasByte has the high bit set in each byte of the result where x has c,
// at least in the lowest such byte (higher ones can be false positives
// after a match, so only the lowest set bit is trusted).
func hasByte(x uint64, c byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	y := x ^ (lo * uint64(c))
	return (y - lo) &^ y & hi
}

// scanString reads the JSON string starting at b[i] == '"'. It returns the
// raw contents (escapes not decoded), whether it has escapes, and the index
// after the closing quote.
func scanString(b []byte, i int) (s []byte, esc bool, next int, err error) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, 0, errFrame
	}
	// Fast path: find the first quote or backslash eight bytes at a time;
	// a quote first means a string without escapes. (Control characters
	// are not checked here; invalid JSON may be accepted, and server frames
	// are valid JSON.)
	j := i + 1
	for ; j+8 <= len(b); j += 8 {
		x := binary.LittleEndian.Uint64(b[j:])
		if m := hasByte(x, '"') | hasByte(x, '\\'); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; j < len(b) && b[j] != '"' && b[j] != '\\'; j++ {
	}
	if j < len(b) && b[j] == '"' {
		return b[i+1 : j], false, j + 1, nil
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], esc, j + 1, nil
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return nil, false, 0, errFrame
		}
	}
	return nil, false, 0, errFrame
}

// skipValue returns the index just after the JSON value starting at b[i].
// Nested values are skipped by bracket depth, strings by scanString; it
// checks structure only as much as skipping needs.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errFrame
	}
	switch b[i] {
	case '"':
		_, _, next, err := scanString(b, i)
		return next, err
	case '{', '[':
		return skipNested(b, i)
	}
	j := i
	for j < len(b) && !isDelim(b[j]) {
		j++
	}
	if j == i {
		return 0, errFrame
	}
	return j, nil
}

// skipNested skips an object or array starting at b[i].
func skipNested(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			_, _, next, err := scanString(b, j)
			if err != nil {
				return 0, err
			}
			j = next - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, errFrame
}

// isDelim reports bytes that end a number or a literal.
func isDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipWS skips JSON whitespace from b[i].
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// trailing checks that only whitespace follows the object.
func trailing(b []byte, i int) error {
	if skipWS(b, i) != len(b) {
		return errFrame
	}
	return nil
}
