package loopback

import (
	"net"
	"strconv"
	"testing"
)

// TestAddrFreeDistinctBelowEphemeral checks that every address handed
// out can be listened on, is below the ephemeral range, and is not
// handed out twice.
func TestAddrFreeDistinctBelowEphemeral(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port < lowest || port >= oneTop {
			t.Fatalf("%s: outside %d-%d", addr, lowest, oneTop-1)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		_ = ln.Close()
	}
}
