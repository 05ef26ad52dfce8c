package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"livechat/bench"
)

const benchUsage = `usage: livechat bench <scenario> [flags]

scenarios:
  fanout      few senders, big rooms, fixed or rising rate (--rate, --rate-max)
  many-rooms  many small rooms, one sender per room at a fixed rate
  small-rooms many-rooms at the small-room cell: 5 rooms x 20, 10 msgs/s per room
  inbox       --users in --rooms-per-user private (or --kind direct) rooms each, every
              user with an inbox socket and room sockets on --room-sockets of its
              rooms; --rate msgs/s in total posted over REST
  capacity    open --conns idle sockets and hold them (several processes if needed)
  rest        keep-alive REST: POST /chat/v1/message/ and GET /chat/v1/room/{id}/
  churn       connect and disconnect at --rate opens/s over --conns loops

examples:
  livechat bench fanout --rooms 1 --members 1000 --rate 5 --rate-max 20 --duration 30s --server-pid $(pidof livechat) --out results/fanout
  livechat bench many-rooms --rooms 500 --members 4 --rate 2 --duration 20s
  livechat bench small-rooms --server-pid $(pidof livechat)    (also --rooms 200 --members 10 --rate 2)
  livechat bench small-rooms --typing --read --server-pid $(pidof livechat)   (plain, then with typing and receipts)
  livechat bench inbox --users 50 --rooms-per-user 6 --members 4 --rate 50 --server-pid $(pidof livechat)
  livechat bench capacity --conns 50000 --server-pid $(pidof livechat) --out results/capacity
  livechat bench rest --concurrency 32 --duration 10s
  livechat bench churn --conns 50 --rate 500 --duration 10s

several nodes (a cluster): --server takes comma-separated base URLs, or
--nodes reads DIR/nodes.json of 'livechat cluster local' (URLs and the pids
sampled from /proc). Sockets go round the nodes (each room's members span
them), setup and REST calls too; the report adds a section per node.
  livechat bench capacity --conns 100000 --nodes /tmp/lc/nodes.json --out results/capacity-6n
  livechat bench fanout --members 6000 --rate 50 --duration 30s --nodes /tmp/lc/nodes.json
  livechat bench many-rooms --server http://127.0.0.1:8001,http://127.0.0.1:8002

A zero flag takes the scenario's default. The table goes to stdout (--json
for JSON), the live progress line to stderr, report.json and report.html
to --out.

flags:
`

// runBench is the `livechat bench` command: flags here, logic in package bench.
func runBench(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, benchUsage)
		newBenchFlags(&benchOptions{}).PrintDefaults()
		return 2
	}
	var o benchOptions
	fs := newBenchFlags(&o)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "livechat bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := o.readNodes(fs); err != nil {
		fmt.Fprintf(os.Stderr, "livechat bench: %v\n", err)
		return 2
	}
	o.cfg.Scenario = args[0]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if o.worker {
		if err := bench.RunWorker(ctx, os.Stdin, os.Stdout, log); err != nil {
			log.Error("bench worker failed", slog.Any("err", err))
			return 1
		}
		return 0
	}
	o.cfg.Logger = log
	if !o.quiet {
		o.cfg.Progress = os.Stderr
		st, err := os.Stderr.Stat()
		o.cfg.ProgressNewlines = err != nil || st.Mode()&os.ModeCharDevice == 0
	}
	return benchMain(ctx, o, os.Stdout, os.Stderr)
}

// benchOptions are the parsed flags.
type benchOptions struct {
	cfg                  bench.Config
	out                  string
	json, quiet, verbose bool
	worker               bool
	cpuprofile           string
	nodes                string // a nodes.json: the targets and their pids
}

// readNodes sets the run's targets from --nodes, which replaces --server
// and --server-pid (given together, they are an error).
func (o *benchOptions) readNodes(fs *flag.FlagSet) error {
	if o.nodes == "" {
		return nil
	}
	var clash []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "server" || f.Name == "server-pid" {
			clash = append(clash, "--"+f.Name)
		}
	})
	if len(clash) > 0 {
		return fmt.Errorf("--nodes gives the servers and their pids: drop %s", strings.Join(clash, " and "))
	}
	ts, err := bench.ReadNodes(o.nodes)
	if err != nil {
		return err
	}
	o.cfg.Targets = ts
	return nil
}

// newBenchFlags declares the flags of `livechat bench` into o.
func newBenchFlags(o *benchOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c := &o.cfg
	fs.StringVar(&c.Server, "server", "http://127.0.0.1:8000", "server base URL, or several comma-separated (the nodes of a cluster)")
	fs.StringVar(&o.nodes, "nodes", "", "a nodes.json ([{name, http, pid}], as 'livechat cluster local' writes): drive those nodes, sample their pids")
	fs.IntVar(&c.Rooms, "rooms", 0, "rooms (fanout 1, many-rooms 100, small-rooms 5, capacity 10, rest 10, churn 1)")
	fs.IntVar(&c.Members, "members", 0, "sockets per room (fanout 100, many-rooms 5, small-rooms 20); inbox: members of a private room (4)")
	fs.IntVar(&c.Senders, "senders", 0, "sending members per room (1)")
	fs.IntVar(&c.Users, "users", 0, "accounts to register; sockets are spread over them (one per socket, at most 200; inbox 20)")
	fs.Float64Var(&c.Rate, "rate", 0, "msgs/s per sender (fanout 10, many-rooms 2, small-rooms 10); inbox: msgs/s in total (20); "+
		"rest: req/s in total (0 = unbounded); churn: opens/s (200)")
	fs.Float64Var(&c.RateMax, "rate-max", 0, "fanout: raise each sender's rate linearly from --rate to this over --duration")
	fs.DurationVar(&c.Duration, "duration", 0, "load (or hold) duration (10s)")
	fs.DurationVar(&c.Drain, "drain", 0, "wait for messages in flight after sending stops (5s)")
	fs.IntVar(&c.MsgSize, "msg-size", 0, "message text size in bytes (100)")
	fs.IntVar(&c.Conns, "conns", 0, "capacity: sockets to hold (1000); churn: parallel connect loops (50)")
	fs.IntVar(&c.Concurrency, "concurrency", 0, "parallel setup calls and socket opens; rest: workers (32; rest 16)")
	fs.DurationVar(&c.Hold, "hold", 0, "churn: how long each socket stays open (0)")
	fs.Float64Var(&c.GetRatio, "get-ratio", 0, "rest: fraction of requests that GET a room (0.5; negative = none)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process id: sample its CPU, RSS and open files from /proc (one server; nodes: --nodes)")
	fs.IntVar(&c.LocalAddrs, "local-addrs", 0, "loopback source addresses to spread sockets over (32; negative = none)")
	fs.IntVar(&c.PerProcess, "per-process", 0, "capacity: sockets per worker process (18000)")
	fs.IntVar(&c.Procs, "procs", 0, "capacity: worker processes (0 = as many as the open-files limit needs)")
	fs.DurationVar(&c.DialTimeout, "dial-timeout", 0, "timeout of one socket open or REST call (10s)")
	fs.IntVar(&c.RoomsPerUser, "rooms-per-user", 0, "inbox: rooms each user is a member of (4)")
	fs.StringVar(&c.Kind, "kind", "", "inbox: room kind, private or direct (private)")
	fs.Float64Var(&c.RoomSockets, "room-sockets", 0, "inbox: share of each user's rooms with a room socket open, 0..1 (0.25; negative = none)")
	fs.BoolVar(&c.Typing, "typing", false, "chat scenarios: senders send chat.typing while composing (once a second at most); runs a plain phase first")
	fs.BoolVar(&c.Read, "read", false, "chat scenarios: members send chat.read after receiving; runs a plain phase first")
	fs.DurationVar(&c.ReadEvery, "read-every", 0, "with --read: least time between a member's chat.read frames (0 = after every message)")
	fs.StringVar(&c.Peer, "peer", "", "chat scenarios: load another server with the same run instead of LiveChat: "+strings.Join(bench.Peers, ", ")+
		" (its JSON client protocol; --server is its HTTP address)")
	fs.StringVar(&o.out, "out", "", "directory for report.json and report.html")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	fs.BoolVar(&o.quiet, "quiet", false, "no live progress line")
	fs.BoolVar(&o.verbose, "verbose", false, "debug logs on stderr")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	fs.BoolVar(&o.worker, "worker", false, "internal: run as a capacity worker process (spec on stdin)")
	return fs
}

// benchMain runs the configured scenario and writes its report.
func benchMain(ctx context.Context, o benchOptions, stdout, stderr io.Writer) int {
	t0 := time.Now()
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "livechat bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "livechat bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, o.cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "livechat bench: %v\n", err)
		return 1
	}
	if o.json {
		err = errors.Join(err, rep.WriteJSON(stdout))
	} else {
		err = errors.Join(err, rep.WriteTable(stdout))
	}
	if o.out != "" {
		err = errors.Join(err, bench.WriteFiles(rep, o.out))
	}
	if err != nil {
		fmt.Fprintf(stderr, "livechat bench: %v (after %s)\n", err, time.Since(t0).Round(time.Millisecond))
		return 1
	}
	if o.out != "" && !o.json {
		fmt.Fprintf(stdout, "  %-20s %s\n", "report", strings.TrimRight(o.out, "/")+"/report.html")
	}
	return 0
}
