package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClusterFlags maps --cluster-* to the node's configuration and
// refuses what cannot run, at parse time.
func TestClusterFlags(t *testing.T) {
	cfg, err := parseServeFlags([]string{"--data", "/srv/chat", "--cluster-node", "n1", "--cluster-peers", "10.0.0.2:6222, 10.0.0.3:6222",
		"--cluster-routes", "10.0.0.1:6222", "--cluster-replicas", "3"}, fakeEnv("LIVECHAT_CLUSTER_NAME", "chat"))
	if err != nil {
		t.Fatal(err)
	}
	cc := cfg.clusterConfig(slog.New(slog.DiscardHandler))
	if cc.Node != "n1" || cc.Name != "chat" || cc.Dir != "/srv/chat/cluster" || cc.RouteListen != "10.0.0.1:6222" ||
		!slices.Equal(cc.Peers, []string{"10.0.0.2:6222", "10.0.0.3:6222"}) || cc.Replicas != 3 || !cc.Sync {
		t.Errorf("cluster config %+v", cc)
	}
	if cfg.clusterIsolationExit != 15*time.Second {
		t.Errorf("isolation exit %s, want 15s", cfg.clusterIsolationExit)
	}
	if cfg, _ := parseServeFlags([]string{"--cluster-node", "n1", "--durability", "os"}, fakeEnv()); cfg.clusterConfig(slog.Default()).Sync {
		t.Error("--durability os syncs the log")
	}
	for _, args := range [][]string{
		{"--cluster-node", "n1", "--in-memory"},
		{"--cluster-node", "n.1"},
		{"--cluster-node", "n1", "--cluster-peers", "nohost"},
		{"--cluster-replicas", "6"},
		{"--cluster-isolation-exit", "1s"},
	} {
		if _, err := parseServeFlags(args, fakeEnv()); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	if _, err := parseServeFlags([]string{"--cluster-peers", "nohost"}, fakeEnv()); err != nil {
		t.Errorf("cluster flags without --cluster-node are unused, not checked: %v", err)
	}
}

// TestGuard exits at once when the replica stopped applying, after the
// grace period of failed probes when the log is out of reach, and not
// when the log comes back within it.
func TestGuard(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	run := func(g guard, within time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		return g.run(ctx)
	}
	ok := func(context.Context) error { return nil }
	none := func() error { return nil }
	down := func(context.Context) error { return errors.New("no quorum") }

	stopped := guard{probe: ok, failed: func() error { return errors.New("disk") }, every: time.Millisecond, exitAfter: time.Hour, log: log}
	if err := run(stopped, 5*time.Second); err == nil || !strings.Contains(err.Error(), "stopped applying") {
		t.Errorf("a stopped replica: %v", err)
	}
	isolated := guard{probe: down, failed: none, every: time.Millisecond, exitAfter: 50 * time.Millisecond, log: log}
	begin := time.Now()
	if err := run(isolated, 5*time.Second); err == nil || !strings.Contains(err.Error(), "isolated") {
		t.Errorf("an isolated node: %v", err)
	}
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Errorf("exited after %s, before the grace period", d)
	}
	// Down for a third of the grace period in every two thirds: each
	// failure ends before the grace period does.
	var calls atomic.Int64
	flapping := func(context.Context) error {
		if calls.Add(1)%60 < 20 {
			return errors.New("election")
		}
		return nil
	}
	healthy := guard{probe: flapping, failed: none, every: time.Millisecond, exitAfter: time.Hour, log: log}
	if err := run(healthy, 300*time.Millisecond); err != nil {
		t.Errorf("a log back within the grace period: %v", err)
	}
	if calls.Load() < 60 {
		t.Errorf("%d probes in 300 ms, want many", calls.Load())
	}
}
