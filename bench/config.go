package bench

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"
)

// Scenario names accepted by Run.
const (
	ScenarioFanout    = "fanout"
	ScenarioManyRooms = "many-rooms"
	// ScenarioSmallRooms is many-rooms with the defaults of the small-room
	// cell: 5 rooms of 20 members, 10 msgs/s per room (the latency floor
	// of a quiet room; --rooms 200 --members 10 --rate 2 and
	// --rooms 1000 --members 10 --rate 2 are its other cells).
	ScenarioSmallRooms = "small-rooms"
	ScenarioCapacity   = "capacity"
	ScenarioREST       = "rest"
	ScenarioChurn      = "churn"
)

// Scenarios lists every scenario name, in the order help shows them.
var Scenarios = []string{ScenarioFanout, ScenarioManyRooms, ScenarioSmallRooms, ScenarioCapacity, ScenarioREST, ScenarioChurn}

// maxMessageChars is the server's default message size limit (PROTOCOL.md).
const maxMessageChars = 4096

// Config describes one benchmark run. Zero values take the scenario's
// default, applied in one place (withDefaults).
type Config struct {
	// Scenario is one of Scenarios.
	Scenario string
	// Server is the server's base URL. Default http://127.0.0.1:8000.
	Server string
	// Rooms is the number of rooms. Default: fanout 1, many-rooms 100,
	// small-rooms 5, capacity 10, rest 10, churn 1.
	Rooms int
	// Members is the number of sockets per room. Default: fanout 100,
	// many-rooms 5, small-rooms 20.
	Members int
	// Senders is the number of sending members per room. Default: 1.
	Senders int
	// Users is the number of accounts registered; sockets are spread over
	// them round-robin (a user may hold several sockets, even in one room).
	// Default: one per socket up to 200 (capacity 100, rest 20, churn 20):
	// registration hashes passwords slowly on purpose.
	Users int
	// Rate is the send rate: messages/s per sender (fanout, many-rooms,
	// small-rooms; default 10, 2 and 10), requests/s in total (rest; default 0 = unbounded),
	// connects/s in total (churn; default 200).
	Rate float64
	// RateMax, when above Rate, raises each sender's rate linearly from Rate
	// to RateMax over Duration (fanout). Default 0: a fixed rate.
	RateMax float64
	// Duration is how long the load runs (or capacity holds). Default 10s.
	Duration time.Duration
	// Drain is how long receivers wait for messages in flight after the
	// senders stop. Default 5s.
	Drain time.Duration
	// MsgSize is the message text size in bytes. Default 100.
	MsgSize int
	// Conns is the number of sockets (capacity; default 1000) or of parallel
	// connect loops (churn; default 50).
	Conns int
	// Concurrency bounds parallel setup calls and socket opens, and is the
	// number of REST workers. Default 32 (rest: 16).
	Concurrency int
	// Hold is how long churn keeps each socket open. Default 0.
	Hold time.Duration
	// GetRatio is the fraction of REST requests that read a room (the rest
	// post messages). Default 0.5; a negative value means none.
	GetRatio float64
	// ServerPID, when set, is the server's process id: its CPU, RSS and open
	// files are sampled from /proc.
	ServerPID int
	// LocalAddrs is how many loopback source addresses (127.0.0.2 …) sockets
	// are spread over when the target is loopback. Default 32; negative: none.
	LocalAddrs int
	// PerProcess caps the sockets one capacity process holds. Default 18000.
	PerProcess int
	// Procs forces the number of capacity worker processes; 0 chooses.
	Procs int
	// WorkerCommand is the command that starts a capacity worker (it must
	// call RunWorker). Default: this executable with "bench capacity --worker".
	WorkerCommand []string
	// DialTimeout bounds one socket open or one REST call. Default 10s.
	DialTimeout time.Duration
	// Progress receives the live progress line once per second; nil: none.
	Progress io.Writer
	// ProgressNewlines ends each progress line with a newline instead of
	// redrawing it in place, for logs and pipes. Default false.
	ProgressNewlines bool
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with every zero field set to the
// scenario's default.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Server == "" {
		c.Server = "http://127.0.0.1:8000"
	}
	switch c.Scenario {
	case ScenarioFanout:
		def(&c.Rooms, 1)
		def(&c.Members, 100)
		if c.Rate == 0 {
			c.Rate = 10
		}
	case ScenarioManyRooms:
		def(&c.Rooms, 100)
		def(&c.Members, 5)
		if c.Rate == 0 {
			c.Rate = 2
		}
	case ScenarioSmallRooms:
		def(&c.Rooms, 5)
		def(&c.Members, 20)
		if c.Rate == 0 {
			c.Rate = 10
		}
	case ScenarioCapacity:
		def(&c.Rooms, 10)
		def(&c.Conns, 1000)
		def(&c.Users, 100)
	case ScenarioREST:
		def(&c.Rooms, 10)
		def(&c.Users, 20)
		def(&c.Concurrency, 16)
	case ScenarioChurn:
		def(&c.Rooms, 1)
		def(&c.Conns, 50)
		def(&c.Users, 20)
		if c.Rate == 0 {
			c.Rate = 200
		}
	}
	def(&c.Senders, 1)
	def(&c.Users, defaultUsers(c.Rooms, c.Members))
	def(&c.MsgSize, 100)
	def(&c.Concurrency, 32)
	def(&c.LocalAddrs, 32)
	def(&c.PerProcess, 18000)
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.GetRatio == 0 {
		c.GetRatio = 0.5
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// defaultUsers picks one account per socket up to 200: registering
// thousands would take minutes (password hashing is slow on purpose), and
// the protocol lets one user hold many sockets.
func defaultUsers(rooms, members int) int {
	return max(min(rooms*members, 200), 1)
}

// validate reports the first setting that cannot run.
func (c Config) validate() error {
	u, err := url.Parse(c.Server)
	if err != nil {
		return fmt.Errorf("bench: server url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("bench: server url %q: want http://host:port", c.Server)
	}
	switch {
	case c.Rooms < 1, c.Users < 1, c.Concurrency < 1:
		return fmt.Errorf("bench: rooms, users and concurrency must be positive")
	case c.Senders > c.Members && isChat(c.Scenario):
		return fmt.Errorf("bench: %d senders per room but only %d members", c.Senders, c.Members)
	case c.MsgSize < minPayloadSize || c.MsgSize > maxMessageChars:
		return fmt.Errorf("bench: msg-size %d: want %d..%d", c.MsgSize, minPayloadSize, maxMessageChars)
	case c.Rate < 0 || c.Duration < 0 || c.Drain < 0:
		return fmt.Errorf("bench: rate, duration and drain must not be negative")
	}
	return nil
}

// isChat reports whether a scenario sends messages over sockets.
func isChat(scenario string) bool {
	return scenario == ScenarioFanout || scenario == ScenarioManyRooms || scenario == ScenarioSmallRooms
}
