package api

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The token cache stays within its byte bound however many tokens pass
// through it, and still answers for the tokens it keeps.
func TestTokenCacheStaysWithinBytes(t *testing.T) {
	const budget = 64 << 10
	c := newTokenCache(budget)
	exp := time.Now().Add(time.Hour)
	pad := strings.Repeat("t", 200)
	for i := range 10_000 {
		tok := fmt.Sprintf("%s%d", pad, i)
		c.put(tok, int64(i), exp)
		if id, _, ok := c.get(tok, time.Now()); !ok || id != int64(i) {
			t.Fatalf("token %d not cached right after put: %d %v", i, id, ok)
		}
	}
	if held := c.held(); held > budget || held == 0 {
		t.Fatalf("cache holds %d bytes, bound %d", held, budget)
	}
}
