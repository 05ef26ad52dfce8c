package bench

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// dialer opens TCP connections, spreading their source addresses over
// 127.0.0.2, 127.0.0.3, … when the target is an IPv4 loopback address: each
// source address has its own ~28,000 ephemeral ports, so large runs (and
// churn, which leaves sockets in TIME_WAIT) do not run out of them.
type dialer struct {
	timeout time.Duration
	local   []net.IP
	next    atomic.Uint64
}

// newDialer returns a dialer for host (a name or address, without port)
// spreading over n loopback source addresses when host is loopback.
func newDialer(host string, n int, timeout time.Duration) *dialer {
	d := &dialer{timeout: timeout}
	if n <= 0 || !isLoopbackV4(host) {
		return d
	}
	for i := range min(n, 250) {
		d.local = append(d.local, net.IPv4(127, 0, 0, byte(2+i)))
	}
	return d
}

// isLoopbackV4 reports whether host names an IPv4 loopback address.
func isLoopbackV4(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// DialContext opens one connection to addr ("host:port").
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.timeout}
	if len(d.local) > 0 {
		i := d.next.Add(1) % uint64(len(d.local))
		nd.LocalAddr = &net.TCPAddr{IP: d.local[i]}
		nd.Control = bindNoPort
		if host, port, err := net.SplitHostPort(addr); err == nil && host == "localhost" {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		network = "tcp4"
	}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return c, nil
}

// Dial is DialContext for fasthttp's client, bounded by the dial timeout.
func (d *dialer) Dial(addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	return d.DialContext(ctx, "tcp", addr)
}
