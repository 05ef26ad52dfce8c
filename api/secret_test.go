package api

import (
	"strings"
	"testing"
)

// TestNewRefusesShortSecret: an HS256 key shorter than the hash is refused
// (RFC 7518 3.2), before anything else is built.
func TestNewRefusesShortSecret(t *testing.T) {
	for _, n := range []int{0, 1, MinSecretBytes - 1} {
		_, err := New(Config{Secret: []byte(strings.Repeat("k", n))}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "at least 32") {
			t.Errorf("a %d-byte secret: %v, want a refusal", n, err)
		}
	}
}
