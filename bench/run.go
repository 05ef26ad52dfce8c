package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxRunOverhead bounds everything but the load itself: setup, opening
// sockets, warm-up, closing.
const maxRunOverhead = time.Hour

// environment is what every scenario of one run shares.
type environment struct {
	cfg   Config
	log   *slog.Logger
	runID string
	// nodes are the servers driven, one for a single server; work item
	// i goes to node(i).
	nodes []*node
	limit FileLimit
	c     counters
	// events is the events= value of room sockets: the optional frame
	// groups the run asks for (typing, read), or "".
	events string
}

// Run runs the configured scenario against the server and returns its
// report. It returns when the run is over (Duration plus setup and drain)
// or ctx ends; every goroutine it started has stopped by then.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	limit, err := RaiseFileLimit()
	if err != nil {
		cfg.Logger.Warn("cannot raise the open files limit", slog.Any("err", err))
	}
	e, err := newEnvironment(cfg, limit)
	if err != nil {
		return nil, err
	}
	// A backstop: every step has its own bound, but a run must stop by
	// itself whatever happens, setup of a very large run included.
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+cfg.Drain+maxRunOverhead)
	defer cancel()
	rep := e.newReport()
	if cfg.Scenario == ScenarioInbox {
		rep.Settings.RoomsPerUser, rep.Settings.Kind, rep.Settings.RoomSockets = cfg.RoomsPerUser, cfg.Kind, max(cfg.RoomSockets, 0)
	}
	var run func(context.Context, *Report) error
	switch cfg.Scenario {
	case ScenarioFanout, ScenarioManyRooms, ScenarioSmallRooms:
		run = e.runChat
	case ScenarioInbox:
		run = e.runInbox
	case ScenarioCapacity:
		run = e.runCapacity
	case ScenarioREST:
		run = e.runREST
	case ScenarioChurn:
		run = e.runChurn
	default:
		return nil, fmt.Errorf("bench: unknown scenario %q (want one of %s)", cfg.Scenario, strings.Join(Scenarios, ", "))
	}
	if err := run(ctx, rep); err != nil {
		return rep, err
	}
	rep.ElapsedSec = round3(time.Since(rep.Started).Seconds())
	e.clientStats(rep)
	return rep, nil
}

// newEnvironment prepares the clients of a run.
func newEnvironment(cfg Config, limit FileLimit) (*environment, error) {
	var id [3]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	e := &environment{
		cfg:   cfg,
		log:   cfg.Logger,
		runID: hex.EncodeToString(id[:]),
		limit: limit,
	}
	for _, t := range cfg.Targets {
		n, err := newNode(cfg, t)
		if err != nil {
			return nil, err
		}
		e.nodes = append(e.nodes, n)
	}
	if len(e.nodes) == 0 {
		return nil, fmt.Errorf("bench: no server")
	}
	var groups []string
	if cfg.Typing {
		groups = append(groups, "typing")
	}
	if cfg.Read {
		groups = append(groups, "read")
	}
	e.events = strings.Join(groups, ",")
	return e, nil
}

// newReport starts the report with the settings in force.
func (e *environment) newReport() *Report {
	c := e.cfg
	return &Report{
		Scenario:  c.Scenario,
		ServerURL: c.Server,
		RunID:     e.runID,
		Started:   time.Now(),
		FileLimit: e.limit,
		Settings: Settings{
			Rooms: c.Rooms, Members: c.Members, Senders: c.Senders, Users: c.Users,
			Rate: c.Rate, RateMax: c.RateMax, DurationSec: c.Duration.Seconds(),
			MsgSize: c.MsgSize, Conns: c.Conns, Concurrency: c.Concurrency,
			Typing: c.Typing, Read: c.Read, ReadEveryMs: round3(float64(c.ReadEvery) / float64(time.Millisecond)),
			Peer: c.Peer,
		},
	}
}

// setup registers the users and creates the rooms of a run.
func (e *environment) setup(ctx context.Context, rep *Report) ([]account, []int64, error) {
	t0 := time.Now()
	e.log.Info("setting up", slog.Int("users", e.cfg.Users), slog.Int("rooms", e.cfg.Rooms), slog.String("run", e.runID))
	users, err := e.setupUsers(ctx, e.cfg.Users)
	if err != nil {
		return nil, nil, err
	}
	rooms, err := e.createRooms(ctx, e.cfg.Rooms, users)
	if err != nil {
		return nil, nil, err
	}
	if err := e.awaitNodes(ctx, rooms, func(j int) string { return users[j%len(users)].Token }); err != nil {
		return nil, nil, err
	}
	rep.SetupSec = round3(time.Since(t0).Seconds())
	return users, rooms, nil
}

// clientStats reads the load generator's own CPU and memory.
func (e *environment) clientStats(rep *Report) {
	rep.Client.Processes = max(rep.Client.Processes, 1)
	if ps, err := readProc(os.Getpid()); err == nil {
		rep.Client.CPUSeconds = round3(ps.CPU.Seconds())
		rep.Client.RSSMB = mb(ps.RSS)
	}
}

// WriteFiles writes report.json and report.html into dir, creating it.
func WriteFiles(rep *Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: create %s: %w", dir, err)
	}
	write := func(name string, fn func(f *os.File) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("bench: create report: %w", err)
		}
		if err := fn(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: write %s: %w", name, err)
		}
		return nil
	}
	if err := write("report.json", func(f *os.File) error { return rep.WriteJSON(f) }); err != nil {
		return err
	}
	return write("report.html", func(f *os.File) error { return rep.WriteHTML(f) })
}
