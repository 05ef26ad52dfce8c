// Package loopback hands tests loopback addresses for servers that must
// know their peers' ports before they start (NATS routes, node HTTP
// ports written into a peer list).
//
// A port the kernel picks with "127.0.0.1:0" comes from the ephemeral
// range, the same range every outgoing connection takes its local port
// from: between the pick and the server's bind, a client socket of
// another test can take it, and the node fails to start (or a cluster
// forms without it). Ports here come from below the ephemeral range
// instead, picked at random, checked free by listening on them, and
// never handed out twice by one process.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the bottom of the range ports are drawn from; the top is
// the start of the kernel's ephemeral range.
const lowest = 20000

var (
	mu     sync.Mutex
	given  = map[int]bool{}
	oneTop = ephemeralStart()
)

// Addr returns "127.0.0.1:PORT" with a port no listener holds now and
// that this process has not handed out before.
func Addr() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		port := lowest + rand.IntN(oneTop-lowest)
		if given[port] {
			continue
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		given[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("loopback: no free port in %d-%d", lowest, oneTop-1)
}

// ephemeralStart is the first port of the kernel's ephemeral range
// (32768 when it cannot be read, Linux's default).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= lowest+1000 {
		return 32768
	}
	return n
}
