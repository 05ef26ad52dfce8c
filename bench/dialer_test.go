package bench

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDialerSpreadsLoopbackSources(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 6 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			mu.Lock()
			seen[host] = true
			mu.Unlock()
			c.Close()
		}
	})
	d := newDialer("127.0.0.1", 3, time.Second)
	for range 6 {
		c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	wg.Wait()
	if len(seen) != 3 || !seen["127.0.0.2"] || !seen["127.0.0.4"] {
		t.Fatalf("source addresses %v, want 127.0.0.2-4", seen)
	}
	if len(newDialer("example.com", 3, time.Second).local) != 0 || len(newDialer("::1", 3, time.Second).local) != 0 {
		t.Fatal("spreads for a non-IPv4-loopback target")
	}
	if len(newDialer("localhost", 300, time.Second).local) != 250 {
		t.Fatal("localhost not spread, or over 250 addresses")
	}
}

func TestFailReason(t *testing.T) {
	_, err := newDialer("127.0.0.1", 0, time.Second).DialContext(context.Background(), "tcp", "127.0.0.1:1")
	if got := failReason(err); got != "connection refused" {
		t.Errorf("refused port: %q (%v)", got, err)
	}
	if got := failReason(&handshakeError{status: 401}); got != "http 401" {
		t.Errorf("handshake: %q", got)
	}
	if got := failReason(context.Canceled); got != "canceled" {
		t.Errorf("canceled: %q", got)
	}
}

func TestForEachBoundsAndStops(t *testing.T) {
	var mu sync.Mutex
	running, peak, calls := 0, 0, 0
	forEach(context.Background(), 50, 4, func(_ context.Context, i int) {
		mu.Lock()
		running++
		peak, calls = max(peak, running), calls+1
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	})
	if calls != 50 || peak > 4 {
		t.Fatalf("calls %d, peak concurrency %d", calls, peak)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	forEach(ctx, 1000, 2, func(context.Context, int) { mu.Lock(); calls++; mu.Unlock() })
	if calls > 2 {
		t.Fatalf("%d calls after cancel", calls)
	}
}

func TestSchedule(t *testing.T) {
	fixed := schedule{from: 10}
	if fixed.ramps() || fixed.rate(time.Hour) != 10 {
		t.Fatal("fixed schedule moves")
	}
	ramp := schedule{from: 10, to: 30, over: 10 * time.Second}
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{{0, 10}, {5 * time.Second, 20}, {10 * time.Second, 30}, {time.Minute, 30}, {-time.Second, 10}} {
		if got := ramp.rate(c.at); got != c.want {
			t.Errorf("rate(%v) = %v, want %v", c.at, got, c.want)
		}
	}
	if interval(4) != 250*time.Millisecond || interval(0) != time.Minute || interval(1e12) != time.Microsecond {
		t.Fatal("interval")
	}
}

func TestChatRefusesMoreSocketsThanTheFileLimit(t *testing.T) {
	url, _ := startFakeServer(t)
	cfg := Config{Scenario: ScenarioFanout, Server: url, Members: 300}.withDefaults()
	e, err := newEnvironment(cfg, FileLimit{Soft: 400, Hard: 400})
	if err != nil {
		t.Fatal(err)
	}
	err = e.runChat(context.Background(), e.newReport())
	if err == nil || !strings.Contains(err.Error(), "RLIMIT_NOFILE") {
		t.Fatalf("err = %v, want one naming RLIMIT_NOFILE", err)
	}
}
