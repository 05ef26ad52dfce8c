package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
		{Scenario: ScenarioInbox, Kind: "group"},
		{Scenario: ScenarioInbox, Kind: KindDirect, Users: 6, RoomsPerUser: 3},
		{Scenario: ScenarioInbox, Kind: KindDirect, Users: 4, RoomsPerUser: 4},
		{Scenario: ScenarioInbox, Users: 3, Members: 4},
		{Scenario: ScenarioInbox, RoomSockets: 1.5},
		{Scenario: ScenarioInbox, Typing: true},
		{Scenario: ScenarioREST, Read: true},
		{Scenario: ScenarioFanout, Read: true, ReadEvery: -time.Second},
		{Scenario: ScenarioSmallRooms, Peer: "phoenix"},
		{Scenario: ScenarioInbox, Peer: PeerCentrifugo},
		{Scenario: ScenarioSmallRooms, Peer: PeerCentrifugo, Typing: true},
		{Scenario: ScenarioSmallRooms, Peer: PeerCentrifugo, Server: "http://127.0.0.1:1,http://127.0.0.1:2"},
	} {
		if err := c.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := Run(context.Background(), Config{Scenario: "nope", Server: "http://127.0.0.1:1"}); err == nil {
		t.Error("unknown scenario accepted")
	}
}

// assertInboxClean checks every inbox socket got one inbox.message per
// message of each of its rooms, and every room socket each message.
func assertInboxClean(t *testing.T, rep *Report) {
	t.Helper()
	x := rep.Inbox
	if x == nil || x.Expected == 0 || rep.Messages.Sent == 0 {
		t.Fatalf("nothing measured: inbox %+v messages %+v", x, rep.Messages)
	}
	if x.Received != x.Expected || x.Lost != 0 || x.Duplicates != 0 || x.OutOfOrder != 0 ||
		x.SeqGaps != 0 || x.SeqRegressions != 0 || x.Foreign != 0 || x.Unparsed != 0 || x.Malformed != 0 {
		t.Fatalf("inbox not clean: %+v", x)
	}
	if x.Latency.Count != x.Received || x.Latency.P50 <= 0 || len(rep.InboxDistribution) == 0 {
		t.Fatalf("inbox latency %+v for %d deliveries", x.Latency, x.Received)
	}
	if len(rep.Notes) != 0 || rep.Conns.Failed != 0 || rep.Conns.Dropped != 0 {
		t.Fatalf("notes %q, conns %+v", rep.Notes, rep.Conns)
	}
}

func TestInboxPrivateRoomsAgainstFakeServer(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioInbox, Users: 6, RoomsPerUser: 3, Members: 3, Rate: 30, RoomSockets: 0.5}, nil)
	assertInboxClean(t, rep)
	x, m := rep.Inbox, rep.Messages
	// 6 rooms of 3: every member has an inbox socket, the sender included.
	if x.Rooms != 6 || x.InboxSockets != 6 || x.Expected != m.Sent*3 {
		t.Fatalf("inbox %+v for %d sent", x, m.Sent)
	}
	// Each user has a room socket on 2 of its 3 rooms: 12 sockets.
	if x.RoomSockets != 12 || m.Expected < m.Sent || m.Received != m.Expected || m.Duplicates != 0 || m.SeqGaps != 0 {
		t.Fatalf("room sockets %d, messages %+v", x.RoomSockets, m)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "inbox deliveries") {
		t.Fatalf("table: %v\n%s", err, table.String())
	}
	dir := t.TempDir()
	if err := WriteFiles(rep, dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !strings.Contains(string(b), "inbox lost") {
		t.Fatalf("html: %v", err)
	}
}

func TestInboxDirectRoomsAgainstFakeServer(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioInbox, Kind: KindDirect, Users: 5, RoomsPerUser: 2, Rate: 20, RoomSockets: -1}, nil)
	assertInboxClean(t, rep)
	x, m := rep.Inbox, rep.Messages
	if x.Rooms != 5 || x.Members != 2 || x.RoomSockets != 0 || x.Expected != m.Sent*2 || m.Expected != 0 {
		t.Fatalf("inbox %+v messages %+v", x, m)
	}
}

func TestInboxLossIsDetected(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioInbox, Users: 4, RoomsPerUser: 2, Members: 2, Rate: 40, RoomSockets: -1},
		func(fs *fakeServer) { fs.dropInboxEvery = 3 })
	x := rep.Inbox
	if x.Lost == 0 || x.Received+x.Lost != x.Expected || x.SeqGaps != x.Lost {
		t.Fatalf("inbox loss not accounted: %+v", x)
	}
}

func TestTypingAndReceiptsAgainstFakeServer(t *testing.T) {
	var fake *fakeServer
	// 40 messages a second per room, so that each phase costs the process
	// more than the 10 ms a CPU reading resolves.
	rep := runFake(t, Config{Scenario: ScenarioManyRooms, Rooms: 2, Members: 4, Rate: 40, Typing: true, Read: true},
		func(fs *fakeServer) { fake = fs })
	assertClean(t, rep)
	x := rep.Extras
	if x == nil || x.Plain.Deliveries == 0 || x.With.Deliveries == 0 || x.Plain.Deliveries+x.With.Deliveries != rep.Messages.Received {
		t.Fatalf("phases %+v of %d deliveries", x, rep.Messages.Received)
	}
	if x.Plain.CPUMsPer1kDeliveries <= 0 || x.With.CPUMsPer1kDeliveries <= 0 || x.With.Latency.Count != x.With.Deliveries {
		t.Fatalf("per-phase cost not measured: %+v", x)
	}
	// Typing goes to the 3 other members; every member reads (4 per room).
	if x.TypingSent == 0 || x.TypingReceived != 3*x.TypingSent || x.ReadsSent == 0 || x.ReceiptsReceived != 4*x.ReadsSent {
		t.Fatalf("frames: %+v", x)
	}
	if x.ErrorsReceived != 0 || fake.joins.Load() != 8 || len(rep.Notes) != 0 {
		t.Fatalf("errors %d, joins %d, notes %q", x.ErrorsReceived, fake.joins.Load(), rep.Notes)
	}
}

func TestReceiptsWithoutMembershipAreNoted(t *testing.T) {
	url, _ := startFakeServer(t)
	e, err := newEnvironment(Config{Scenario: ScenarioManyRooms, Server: url, Read: true}.withDefaults(), FileLimit{})
	if err != nil || e.events != "read" {
		t.Fatalf("events %q, err %v", e.events, err)
	}
	x := &ExtrasStats{ReadsSent: 5, ErrorsReceived: 5}
	if n := x.notes(); len(n) != 2 {
		t.Fatalf("notes %q", n)
	}
}

func TestInboxLayout(t *testing.T) {
	for _, c := range []Config{
		{Scenario: ScenarioInbox, Users: 20, RoomsPerUser: 4, Members: 4},
		{Scenario: ScenarioInbox, Users: 7, RoomsPerUser: 3, Members: 7},
		{Scenario: ScenarioInbox, Users: 7, RoomsPerUser: 4, Kind: KindDirect},
	} {
		c = c.withDefaults()
		if err := c.validate(); err != nil {
			t.Fatal(err)
		}
		l := inboxLayout(c)
		if len(l.members) != c.Rooms {
			t.Fatalf("%+v: %d rooms, want %d", c, len(l.members), c.Rooms)
		}
		pairs := map[[2]int]bool{}
		for j, us := range l.members {
			seen := map[int]bool{}
			for _, u := range us {
				if seen[u] {
					t.Fatalf("room %d has user %d twice: %v", j, u, us)
				}
				seen[u] = true
			}
			if c.Kind == KindDirect {
				p := [2]int{min(us[0], us[1]), max(us[0], us[1])}
				if pairs[p] {
					t.Fatalf("direct room %v opened twice", p)
				}
				pairs[p] = true
			}
		}
		for u, rs := range l.userRooms {
			if len(rs) != c.RoomsPerUser {
				t.Fatalf("%+v: user %d in %d rooms", c, u, len(rs))
			}
		}
	}
}
