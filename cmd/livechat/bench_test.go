package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livechat/bench"
)

// benchAgainstServer runs one bench scenario against a real in-process
// server through benchMain, as `livechat bench` would, and returns the
// decoded JSON report and the output directory.
func benchAgainstServer(t *testing.T, cfg bench.Config) (*bench.Report, string) {
	t.Helper()
	return benchAgainstServerWith(t, nil, cfg)
}

// benchAgainstServerWith is benchAgainstServer with a server configuration
// hook.
func benchAgainstServerWith(t *testing.T, configure func(*serveConfig), cfg bench.Config) (*bench.Report, string) {
	t.Helper()
	cfg.Server = startTestServerWith(t, configure)
	cfg.ServerPID = os.Getpid()
	cfg.LocalAddrs = 4
	if cfg.Duration == 0 {
		cfg.Duration = time.Second
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if code := benchMain(ctx, benchOptions{cfg: cfg, out: out, json: true}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench %s exited %d: %s", cfg.Scenario, code, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stdout.String())
	}
	for _, f := range []string{"report.json", "report.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() < 500 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	return &rep, out
}

func TestBenchFanoutAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioFanout, Rooms: 1, Members: 20, Senders: 2,
		Rate: 10, Duration: 2 * time.Second})
	m := rep.Messages
	if m == nil || m.Sent == 0 {
		t.Fatalf("nothing sent: %+v", m)
	}
	if m.Expected != m.Sent*20 || m.Received != m.Expected || m.Lost != 0 {
		t.Fatalf("deliveries %d of %d expected (sent %d), lost %d", m.Received, m.Expected, m.Sent, m.Lost)
	}
	if m.Duplicates != 0 || m.OutOfOrder != 0 || m.SeqGaps != 0 || m.SeqRegressions != 0 || m.Foreign != 0 {
		t.Fatalf("not exactly once in order: %+v", m)
	}
	if rep.Conns.OK != 20 || rep.Conns.Failed != 0 || rep.Conns.Dropped != 0 {
		t.Fatalf("conns %+v", rep.Conns)
	}
	if m.Latency.Count != m.Received || rep.Server == nil || len(rep.LatencyTimeline) == 0 {
		t.Fatalf("latency %+v server %+v", m.Latency, rep.Server)
	}
}

func TestBenchManyRoomsAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioManyRooms, Rooms: 10, Members: 3, Rate: 5})
	m := rep.Messages
	if m.Sent == 0 || m.Received != m.Expected || m.Duplicates != 0 || m.OutOfOrder != 0 || m.SeqGaps != 0 {
		t.Fatalf("messages %+v", m)
	}
}

func TestBenchSmallRoomsAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioSmallRooms})
	m := rep.Messages
	if rep.Conns.OK != 5*20 || m.Sent == 0 || m.Received != m.Expected || m.Duplicates != 0 || m.OutOfOrder != 0 {
		t.Fatalf("conns %+v messages %+v", rep.Conns, m)
	}
	if s := rep.Server; s == nil || s.LoadCPUSeconds <= 0 || s.CPUMsPer1kDeliveries <= 0 {
		t.Fatalf("server CPU per delivery not reported: %+v", s)
	}
}

// shortAccessTTL makes the server's access tokens expire within a run, so
// that its sockets are closed with 4001 unless the bench renews them.
func shortAccessTTL(c *serveConfig) { c.accessTTL = 3 * time.Second }

func TestBenchRenewsTokensAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServerWith(t, shortAccessTTL, bench.Config{Scenario: bench.ScenarioManyRooms,
		Rooms: 2, Members: 3, Rate: 5, Duration: 8 * time.Second})
	m := rep.Messages
	if rep.Conns.Dropped != 0 || len(rep.Conns.DropReasons) != 0 {
		t.Fatalf("sockets dropped: %+v", rep.Conns)
	}
	if m.Sent == 0 || m.Lost != 0 || m.Received != m.Expected || m.Duplicates != 0 || m.SeqGaps != 0 {
		t.Fatalf("messages %+v", m)
	}
	if rep.TokenRenewals == 0 || len(rep.Notes) != 0 {
		t.Fatalf("renewals %d, notes %q", rep.TokenRenewals, rep.Notes)
	}
}

func TestBenchCapacityRenewsTokensAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServerWith(t, shortAccessTTL, bench.Config{Scenario: bench.ScenarioCapacity,
		Conns: 40, Users: 4, Duration: 5 * time.Second})
	c := rep.Capacity
	if c == nil || c.Held != 40 || rep.Conns.Failed != 0 || rep.Conns.Dropped != 0 || len(rep.Conns.DropReasons) != 0 {
		t.Fatalf("capacity %+v conns %+v", c, rep.Conns)
	}
	if rep.TokenRenewals == 0 {
		t.Fatalf("no token renewed in a run longer than the token lifetime")
	}
}

func TestBenchRESTAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioREST, Rooms: 2, Users: 2, Concurrency: 4, Rate: 200})
	x := rep.REST
	if x == nil || x.Requests < 50 || x.Errors != 0 || x.Post.Count == 0 || x.Get.Count == 0 {
		t.Fatalf("rest %+v", x)
	}
}

func TestBenchCapacityAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioCapacity, Conns: 200, Users: 10,
		Duration: 500 * time.Millisecond})
	c := rep.Capacity
	if c == nil || c.Held != 200 || rep.Conns.OK != 200 || rep.Conns.Failed != 0 || rep.Conns.Dropped != 0 {
		t.Fatalf("capacity %+v conns %+v", c, rep.Conns)
	}
}

func TestBenchChurnAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioChurn, Conns: 4, Users: 4, Rate: 100})
	if rep.Conns.OK < 20 || rep.Conns.Failed != 0 {
		t.Fatalf("conns %+v", rep.Conns)
	}
}

func TestBenchFlags(t *testing.T) {
	var o benchOptions
	fs := newBenchFlags(&o)
	fs.SetOutput(io.Discard)
	err := fs.Parse([]string{"--rooms", "3", "--members", "7", "--rate", "2.5", "--duration", "3s", "--out", "x", "--json", "--peer", "centrifugo"})
	if err != nil || o.cfg.Rooms != 3 || o.cfg.Members != 7 || o.cfg.Rate != 2.5 || o.cfg.Duration != 3*time.Second ||
		o.out != "x" || !o.json || o.cfg.Peer != "centrifugo" {
		t.Fatalf("parsed %+v %v", o, err)
	}
	o = benchOptions{}
	fs = newBenchFlags(&o)
	fs.SetOutput(io.Discard)
	err = fs.Parse([]string{"--rooms-per-user", "6", "--kind", "direct", "--room-sockets", "0.5", "--typing", "--read", "--read-every", "250ms"})
	if c := o.cfg; err != nil || c.RoomsPerUser != 6 || c.Kind != "direct" || c.RoomSockets != 0.5 || !c.Typing || !c.Read ||
		c.ReadEvery != 250*time.Millisecond {
		t.Fatalf("parsed %+v %v", o, err)
	}
	if code := runBench([]string{"fanout", "--no-such-flag"}); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code := runBench([]string{"no-such-scenario", "--quiet"}); code != 1 {
		t.Fatalf("bad scenario: exit %d", code)
	}
}

func TestBenchInboxAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioInbox, Users: 6, RoomsPerUser: 3, Members: 3,
		Rate: 20, RoomSockets: 0.5})
	x, m := rep.Inbox, rep.Messages
	if x == nil || m.Sent == 0 || x.Rooms != 6 || x.InboxSockets != 6 || x.RoomSockets != 12 || rep.Conns.Failed != 0 {
		t.Fatalf("inbox %+v messages %+v conns %+v", x, m, rep.Conns)
	}
	// Every member has an inbox socket, the sender included: 3 per message.
	if x.Expected != 3*m.Sent || x.Received != x.Expected || x.Duplicates != 0 || x.OutOfOrder != 0 || x.SeqGaps != 0 || x.Foreign != 0 {
		t.Fatalf("inbox deliveries %+v of %d sent", x, m.Sent)
	}
	if m.Expected == 0 || m.Received != m.Expected || m.SeqGaps != 0 || len(rep.Notes) != 0 {
		t.Fatalf("room sockets %+v, notes %q", m, rep.Notes)
	}
	if s := rep.Server; s == nil || s.CPUMsPer1kDeliveries <= 0 || x.Latency.Count != x.Received {
		t.Fatalf("server %+v latency %+v", s, x.Latency)
	}
}

func TestBenchDirectInboxAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioInbox, Kind: bench.KindDirect, Users: 5,
		RoomsPerUser: 2, Rate: 20, RoomSockets: -1})
	x, m := rep.Inbox, rep.Messages
	if x == nil || m.Sent == 0 || x.Rooms != 5 || x.Expected != 2*m.Sent || x.Received != x.Expected || x.SeqGaps != 0 || len(rep.Notes) != 0 {
		t.Fatalf("inbox %+v messages %+v notes %q", x, m, rep.Notes)
	}
}

func TestBenchTypingAndReceiptsAgainstServer(t *testing.T) {
	rep, _ := benchAgainstServer(t, bench.Config{Scenario: bench.ScenarioManyRooms, Rooms: 2, Members: 4, Rate: 3,
		Typing: true, Read: true})
	m, x := rep.Messages, rep.Extras
	if m.Sent == 0 || m.Received != m.Expected || m.Duplicates != 0 || m.SeqGaps != 0 {
		t.Fatalf("messages %+v", m)
	}
	if x == nil || x.Plain.Deliveries == 0 || x.With.Deliveries == 0 || x.Plain.CPUMsPer1kDeliveries <= 0 || x.With.CPUMsPer1kDeliveries <= 0 {
		t.Fatalf("phases %+v", x)
	}
	// Typing reaches the other 3 members of the room; receipts reach all 4.
	if x.TypingSent == 0 || x.TypingReceived == 0 || x.TypingReceived > 3*x.TypingSent || x.ReadsSent == 0 || x.ReceiptsReceived == 0 {
		t.Fatalf("frames %+v", x)
	}
	if x.ErrorsReceived != 0 || len(rep.Notes) != 0 {
		t.Fatalf("chat.error %d, notes %q", x.ErrorsReceived, rep.Notes)
	}
}
