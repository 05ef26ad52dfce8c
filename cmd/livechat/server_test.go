package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// startTestServer runs a real server in-process on 127.0.0.1:0 with an
// in-memory database and returns its base URL ("http://127.0.0.1:port").
// It stops when the test ends.
func startTestServer(t testing.TB) string {
	t.Helper()
	return startTestServerWith(t, nil)
}

// startTestServerWith is startTestServer with a configuration hook.
func startTestServerWith(t testing.TB, configure func(*serveConfig)) string {
	t.Helper()
	cfg, err := parseServeFlags([]string{"-addr", "127.0.0.1:0", "-in-memory", "-bcrypt-cost", "4", "-login-rate", "100000", "-register-rate", "100000", "-room-rate", "100000", "-metrics-addr", ""}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.messageRate, cfg.messageBurst = 10_000, 10_000
	if configure != nil {
		configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, cfg, log, func(a net.Addr) { addrc <- a }) }()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server shutdown: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("server did not shut down in 30s")
			}
		})
		return "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server did not start in 10s")
	}
	return ""
}
