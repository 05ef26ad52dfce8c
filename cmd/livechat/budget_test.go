package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"livechat/persistence"
)

func TestMemoryBudgetFlag(t *testing.T) {
	parse := func(args []string, env map[string]string) (serveConfig, error) {
		return parseServeFlags(args, func(k string) string { return env[k] })
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int64
	}{
		{nil, nil, 512 << 20},
		{[]string{"--memory-budget", "1GiB"}, nil, 1 << 30},
		{nil, map[string]string{"LIVECHAT_MEMORY_BUDGET": "64MiB"}, 64 << 20},
		{[]string{"--memory-budget", "100000000"}, map[string]string{"LIVECHAT_MEMORY_BUDGET": "64MiB"}, 100_000_000},
		{[]string{"--memory-budget", "600MB"}, nil, 600_000_000},
	} {
		cfg, err := parse(tc.args, tc.env)
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		b, err := parseMemoryBudget(cfg.memoryBudget)
		if err != nil || b.total != tc.want {
			t.Errorf("%v %v: budget %d (%v), want %d", tc.args, tc.env, b.total, err, tc.want)
		}
		if b.store+b.recent+b.tokens >= b.total {
			t.Errorf("%v: components take %d of %d, nothing left for the working heap", tc.args, b.store+b.recent+b.tokens, b.total)
		}
	}
	for _, bad := range []string{"abc", "1MiB", "-5", "12 parsecs"} {
		_, err := parse([]string{"--memory-budget", bad}, nil)
		if err == nil || !strings.Contains(err.Error(), "memory budget") {
			t.Errorf("--memory-budget %q: err %v, want one naming the memory budget", bad, err)
		}
	}
}

// A server started with a budget sets the Go runtime's soft memory limit to
// it, less the share of Badger's mapped files, which count in RSS but not in
// the runtime's memory (no socket is open yet).
func TestServeSetsMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	t.Setenv("GOMEMLIMIT", "")
	startTestServerWith(t, func(c *serveConfig) { c.memoryBudget = "64MiB" })
	want := int64(64<<20) - persistence.MappedShare(32<<20)
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := debug.SetMemoryLimit(-1)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory limit %s, want %d bytes", limitString(got), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func limitString(n int64) string {
	if n == math.MaxInt64 {
		return "unlimited"
	}
	return fmt.Sprintf("%d bytes", n)
}
