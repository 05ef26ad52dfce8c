package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"livechat/bench"
)

// BenchmarkIdleSocketMemory measures what an idle authenticated socket
// costs the server: a `livechat serve` child process holds idleSockets
// sockets opened by the load generator's capacity scenario, and its RSS
// growth per socket is reported as bytes/conn (the target is at most
// 10 KiB). The generator runs in this process, so it holds 15,000 sockets,
// below the open-file limit; the server's fixed overhead is spread over
// fewer sockets than the 19,500 of `livechat bench capacity`, which makes
// the figure about 5% higher. Each iteration starts a fresh server.
func BenchmarkIdleSocketMemory(b *testing.B) {
	const idleSockets = 15000
	bin := buildLivechat(b, b.TempDir())
	var perConn float64
	for b.Loop() {
		// 300 sockets a user, about 1,900 from each loopback address.
		srv := startLivechat(b, bin, b.TempDir(), "--max-user-sockets", "100000", "--max-conns-per-ip", "100000")
		cfg := bench.Config{Scenario: bench.ScenarioCapacity, Server: srv.url, ServerPID: srv.cmd.Process.Pid,
			Conns: idleSockets, Users: 50, Duration: time.Second, LocalAddrs: 8}
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		code := benchMain(ctx, benchOptions{cfg: cfg, json: true, quiet: true}, &stdout, &stderr)
		cancel()
		if code != 0 {
			b.Fatalf("bench capacity exited %d: %s", code, stderr.String())
		}
		var rep bench.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			b.Fatalf("decode report: %v", err)
		}
		if c := rep.Capacity; c == nil || c.Held != idleSockets || c.BytesPerConn <= 0 {
			b.Fatalf("capacity %+v", rep.Capacity)
		}
		perConn = rep.Capacity.BytesPerConn
		srv.stop(b)
	}
	b.ReportMetric(perConn, "bytes/conn")
}
