package api

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLoneSurrogate(t *testing.T) {
	for raw, want := range map[string]rune{
		`"plain"`:                0,
		`"\ud83d\ude00"`:         0, // a pair: one character
		`"\uD83D\uDE00 upper"`:   0,
		`"\\ud800 is text"`:      0, // an escaped backslash, then text
		`"\u00e9\u0000"`:         0, // not surrogates (NUL is refused elsewhere)
		`"a\ud800b"`:             0xD800,
		`"\ud800"`:               0xD800,
		`"\ude00\ud83d"`:         0xDE00, // reversed
		`"\ud83d\u0041"`:         0xD83D, // high, then not a low
		`"\\\ud800"`:             0xD800, // an escaped backslash, then a surrogate
		`"x\udbff\udfff\udfff"`:  0xDFFF,
		`"\ud83d\ude00\ud83d"`:   0xD83D,
		`"\ud83d\ude00\ud83d\\"`: 0xD83D,
	} {
		r, ok := loneSurrogate([]byte(raw))
		if ok != (want != 0) || r != want && want != 0 {
			t.Errorf("loneSurrogate(%s) = %X, %v; want %X", raw, r, ok, want)
		}
	}
}

// Every listed common password can match: lowercase (input is lowered
// before the lookup) and at least eight characters (shorter ones are
// refused as too short already).
func TestCommonPasswordsList(t *testing.T) {
	for p := range commonPasswords {
		if p != strings.ToLower(p) || utf8.RuneCountInString(p) < 8 {
			t.Errorf("common password %q can never match", p)
		}
	}
}
