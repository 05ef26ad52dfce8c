package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// What the terminal client prints comes largely from the server, that is
// from other users: messages, nicknames, room names, error details. A
// terminal obeys control characters in what it is given, so another user
// could move the cursor, rewrite earlier lines, recolour the screen, set
// the window title, or (with bidi overrides, "Trojan Source") make a line
// read differently from what it says. Everything the client writes goes
// through a terminalWriter, and fields are cleaned as they are formatted.

// unsafeForTerminal is the one rule: C0 controls but tab and newline, DEL,
// C1 controls (U+0080-U+009F: 0x9B is CSI for some terminals), every
// Unicode bidi control (U+061C, U+200E-U+200F, U+202A-U+202E,
// U+2066-U+2069), and the line and paragraph separators.
func unsafeForTerminal(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Bidi_Control, r)
}

// cleanForTerminal drops what unsafeForTerminal refuses and replaces
// bytes that are not UTF-8 with U+FFFD.
func cleanForTerminal(s string) string {
	return strings.Map(func(r rune) rune {
		if unsafeForTerminal(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// cleanLine is cleanForTerminal for a field that must stay on its line (a
// nickname, an error type): newlines and tabs become spaces.
func cleanLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, cleanForTerminal(s))
}

// cleanText is cleanForTerminal for a message body: its continuation lines
// are indented, so that a message cannot print a line that looks like
// another user's message or a status line.
func cleanText(s string) string {
	return strings.ReplaceAll(cleanForTerminal(s), "\n", "\n    ")
}

// escapeJSONForTerminal writes what unsafeForTerminal refuses as \uXXXX
// escapes in one line of compact JSON. Such characters can only stand
// inside strings there (JSON allows no raw control characters outside
// them), so the line decodes to the same value and stays safe to show.
func escapeJSONForTerminal(line []byte) []byte {
	s := string(line)
	if strings.IndexFunc(s, unsafeForTerminal) < 0 && utf8.ValidString(s) {
		return line
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteString(`\ufffd`)
		case unsafeForTerminal(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return []byte(b.String())
}

// terminalWriter applies cleanForTerminal to everything written through
// it. A character split across two writes is held until it is whole.
type terminalWriter struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte
}

func newTerminalWriter(w io.Writer) *terminalWriter {
	if tw, ok := w.(*terminalWriter); ok {
		return tw
	}
	return &terminalWriter{w: w}
}

func (t *terminalWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	buf := append(t.partial, p...)
	t.partial = nil
	// Keep an incomplete character at the end for the next write.
	if i := lastRuneStart(buf); i >= 0 && !utf8.FullRune(buf[i:]) {
		t.partial = append([]byte(nil), buf[i:]...)
		buf = buf[:i]
	}
	if _, err := io.WriteString(t.w, cleanForTerminal(string(buf))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// lastRuneStart is the index where the last (maybe incomplete) UTF-8
// sequence of b starts, or -1 when b ends in ASCII or is empty.
func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if b[i] < utf8.RuneSelf {
			return -1
		}
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return -1
}
