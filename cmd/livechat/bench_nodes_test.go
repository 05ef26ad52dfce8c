package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"livechat/bench"
)

func TestBenchNodesFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.json")
	nodes := `[{"name":"node1","http":"127.0.0.1:8001","pid":11},{"name":"node2","http":"127.0.0.1:8002","pid":12}]`
	if err := os.WriteFile(path, []byte(nodes), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (benchOptions, error) {
		var o benchOptions
		fs := newBenchFlags(&o)
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o, o.readNodes(fs)
	}
	o, err := parse("--nodes", path)
	want := []bench.Target{{Name: "node1", URL: "http://127.0.0.1:8001", PID: 11}, {Name: "node2", URL: "http://127.0.0.1:8002", PID: 12}}
	if err != nil || len(o.cfg.Targets) != 2 || o.cfg.Targets[0] != want[0] || o.cfg.Targets[1] != want[1] {
		t.Fatalf("targets %+v, %v", o.cfg.Targets, err)
	}
	if _, err := parse("--nodes", path, "--server-pid", "5"); err == nil {
		t.Fatal("--nodes with --server-pid accepted")
	}
	if _, err := parse("--nodes", path, "--server", "http://127.0.0.1:1"); err == nil {
		t.Fatal("--nodes with --server accepted")
	}
	if _, err := parse("--nodes", filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("a missing nodes file accepted")
	}
	if o, err := parse("--server", "http://127.0.0.1:1,http://127.0.0.1:2"); err != nil || o.cfg.Server != "http://127.0.0.1:1,http://127.0.0.1:2" {
		t.Fatalf("--server list: %+v %v", o.cfg, err)
	}
	if code := runBench([]string{"capacity", "--quiet", "--nodes", path, "--server-pid", "5"}); code != 2 {
		t.Fatalf("--nodes with --server-pid: exit %d, want 2", code)
	}
}
