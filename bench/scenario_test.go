package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// runFake runs cfg against a fresh fake server with short, test-sized
// defaults and returns the report.
func runFake(t *testing.T, cfg Config, tweak func(*fakeServer)) *Report {
	t.Helper()
	url, fs := startFakeServer(t)
	if tweak != nil {
		tweak(fs)
	}
	cfg.Server = url
	cfg.ServerPID = os.Getpid()
	if cfg.Duration == 0 {
		cfg.Duration = time.Second
	}
	cfg.Drain = 3 * time.Second
	cfg.LocalAddrs = 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// assertClean checks a chat run delivered everything exactly once, in order.
func assertClean(t *testing.T, rep *Report) {
	t.Helper()
	m := rep.Messages
	if m == nil || m.Sent == 0 || m.Expected == 0 {
		t.Fatalf("nothing sent: %+v", m)
	}
	if m.Received != m.Expected || m.Lost != 0 || m.Duplicates != 0 || m.OutOfOrder != 0 ||
		m.SeqGaps != 0 || m.SeqRegressions != 0 || m.Foreign != 0 || m.Malformed != 0 {
		t.Fatalf("not clean: %+v", m)
	}
	if m.Latency.Count != m.Received || m.Latency.P50 <= 0 {
		t.Fatalf("latency %+v for %d deliveries", m.Latency, m.Received)
	}
	if rep.Conns.Failed != 0 || rep.Conns.Dropped != 0 {
		t.Fatalf("conns %+v", rep.Conns)
	}
}

func TestFanoutAgainstFakeServer(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioFanout, Members: 20, Senders: 2, Rate: 20, RateMax: 40, Duration: 1500 * time.Millisecond}, nil)
	assertClean(t, rep)
	if want := rep.Messages.Sent * 20; rep.Messages.Expected != want {
		t.Fatalf("expected %d, want sent×members = %d", rep.Messages.Expected, want)
	}
	if rep.Server == nil || rep.Server.RSSPeakMB <= 0 || len(rep.Timeline) == 0 {
		t.Fatalf("server stats %+v, timeline %d", rep.Server, len(rep.Timeline))
	}
	dir := t.TempDir()
	if err := WriteFiles(rep, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "report.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 500 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestManyRoomsAgainstFakeServer(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioManyRooms, Rooms: 8, Members: 3, Rate: 10}, nil)
	assertClean(t, rep)
	if rep.Conns.OK != 24 {
		t.Fatalf("conns %+v", rep.Conns)
	}
}

func TestLossIsDetected(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioFanout, Members: 5, Rate: 30}, func(fs *fakeServer) { fs.dropEvery = 4 })
	m := rep.Messages
	if m.Lost == 0 || m.Received+m.Lost != m.Expected || m.SeqGaps != m.Lost {
		t.Fatalf("loss not accounted: %+v", m)
	}
}

func TestRESTAgainstFakeServer(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioREST, Concurrency: 4, Rate: 400}, nil)
	x := rep.REST
	if x == nil || x.Requests < 100 || x.Errors != 0 || x.Post.Count == 0 || x.Get.Count == 0 {
		t.Fatalf("rest %+v", x)
	}
}

func TestCapacityInProcess(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioCapacity, Conns: 100, Duration: 500 * time.Millisecond}, nil)
	c := rep.Capacity
	if c == nil || c.Held != 100 || c.Processes != 1 || rep.Conns.OK != 100 {
		t.Fatalf("capacity %+v conns %+v", c, rep.Conns)
	}
}

func TestCapacityWorkerProcesses(t *testing.T) {
	t.Setenv(workerEnv, "1")
	rep := runFake(t, Config{Scenario: ScenarioCapacity, Conns: 61, Procs: 2, Duration: 500 * time.Millisecond,
		WorkerCommand: []string{os.Args[0]}}, nil)
	c := rep.Capacity
	if c == nil || c.Held != 61 || c.Processes != 2 || rep.Conns.OK != 61 || rep.Conns.OpenLatency.Count != 61 {
		t.Fatalf("capacity %+v conns %+v", c, rep.Conns)
	}
}

func TestChurnAgainstFakeServer(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioChurn, Conns: 5, Rate: 100, Hold: 10 * time.Millisecond}, nil)
	if rep.Conns.OK < 20 || rep.Conns.Failed != 0 {
		t.Fatalf("conns %+v", rep.Conns)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{Scenario: ScenarioFanout, Server: "ftp://x"},
		{Scenario: ScenarioFanout, Members: 2, Senders: 3},
		{Scenario: ScenarioFanout, MsgSize: 10},
		{Scenario: ScenarioFanout, MsgSize: 5000},
		{Scenario: ScenarioFanout, Rate: -1},
	} {
		if err := c.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := Run(context.Background(), Config{Scenario: "nope", Server: "http://127.0.0.1:1"}); err == nil {
		t.Error("unknown scenario accepted")
	}
}
