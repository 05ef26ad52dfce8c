package bench

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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
	// ScenarioInbox is Users users, each a member of RoomsPerUser private
	// or direct rooms, each with an inbox socket open and room sockets on
	// RoomSockets of their rooms; messages are posted over REST.
	ScenarioInbox = "inbox"
)

// Room kinds of the inbox scenario.
const (
	KindPrivate = "private"
	KindDirect  = "direct"
)

// Scenarios lists every scenario name, in the order help shows them.
var Scenarios = []string{ScenarioFanout, ScenarioManyRooms, ScenarioSmallRooms, ScenarioInbox, ScenarioCapacity, ScenarioREST, ScenarioChurn}

// maxMessageChars is the server's default message size limit (PROTOCOL.md).
const maxMessageChars = 4096

// Config describes one benchmark run. Zero values take the scenario's
// default, applied in one place (withDefaults).
type Config struct {
	// Scenario is one of Scenarios.
	Scenario string
	// Server is the server's base URL, or several comma-separated (the
	// nodes of a cluster). Default http://127.0.0.1:8000.
	Server string
	// Targets, when set, are the nodes to drive (from a nodes.json, see
	// ReadNodes), each with its pid; Server and ServerPID are then not
	// used. Default: the URLs of Server, the only one with ServerPID.
	Targets []Target
	// Rooms is the number of rooms. Default: fanout 1, many-rooms 100,
	// small-rooms 5, capacity 10, rest 10, churn 1.
	Rooms int
	// Members is the number of sockets per room. Default: fanout 100,
	// many-rooms 5, small-rooms 20. Inbox: the members of each private
	// room (default 4; a direct room has 2).
	Members int
	// Senders is the number of sending members per room. Default: 1.
	Senders int
	// Users is the number of accounts registered; sockets are spread over
	// them round-robin (a user may hold several sockets, even in one room).
	// Default: one per socket up to 200 (capacity 100, rest 20, churn 20):
	// registration hashes passwords slowly on purpose.
	Users int
	// Rate is the send rate: messages/s per sender (fanout, many-rooms,
	// small-rooms; default 10, 2 and 10), messages/s in total over all
	// rooms (inbox; default 20), requests/s in total (rest; default 0 = unbounded),
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
	// files are sampled from /proc. One server only: the pids of several
	// nodes come with Targets.
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

	// RoomsPerUser is how many rooms each user of the inbox scenario is a
	// member of. Default 4.
	RoomsPerUser int
	// Kind is the kind of the inbox scenario's rooms: KindPrivate
	// (default) or KindDirect.
	Kind string
	// RoomSockets is the share of each user's rooms the inbox scenario
	// opens a room socket on, besides the user's inbox socket: 0 … 1.
	// Default 0.25; a negative value means none.
	RoomSockets float64

	// Peer, when set, is another server the chat scenarios load instead
	// of LiveChat: PeerCentrifugo. Default "": LiveChat.
	Peer string

	// Typing makes the chat scenarios' senders send chat.typing while
	// "composing" each message (midway between two, at most once a
	// second), on sockets opened with events=typing.
	Typing bool
	// Read makes every member of the chat scenarios send chat.read with
	// the seq it received, at most once per ReadEvery, on sockets opened
	// with events=read.
	Read bool
	// ReadEvery spaces a member's chat.read frames. Default 0: after every
	// message.
	ReadEvery time.Duration
}

// typingEvery is the least time between two chat.typing frames of a
// sender: clients refresh the indicator at most once a second.
const typingEvery = time.Second

// withDefaults returns a copy of c with every zero field set to the
// scenario's default.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Server == "" && len(c.Targets) == 0 {
		c.Server = "http://127.0.0.1:8000"
	}
	c.Targets = slices.Clone(c.targetsOf())
	urls := make([]string, len(c.Targets))
	for i := range c.Targets {
		if c.Targets[i].Name == "" {
			c.Targets[i].Name = "node" + strconv.Itoa(i+1)
		}
		urls[i] = c.Targets[i].URL
	}
	c.Server = strings.Join(urls, ",")
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
	case ScenarioInbox:
		def(&c.Users, 20)
		def(&c.RoomsPerUser, 4)
		if c.Kind == "" {
			c.Kind = KindPrivate
		}
		if c.Kind == KindDirect {
			c.Members = 2
		}
		def(&c.Members, 4)
		c.Rooms = inboxRooms(c.Kind, c.Users, c.RoomsPerUser, c.Members)
		if c.Rate == 0 {
			c.Rate = 20
		}
		if c.RoomSockets == 0 {
			c.RoomSockets = 0.25
		}
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
	if err := c.validateTargets(); err != nil {
		return err
	}
	switch {
	case c.Rooms < 1, c.Users < 1, c.Concurrency < 1:
		return fmt.Errorf("bench: rooms, users and concurrency must be positive")
	case c.Senders > c.Members && isChat(c.Scenario):
		return fmt.Errorf("bench: %d senders per room but only %d members", c.Senders, c.Members)
	case c.MsgSize < minPayloadSize || c.MsgSize > maxMessageChars:
		return fmt.Errorf("bench: msg-size %d: want %d..%d", c.MsgSize, minPayloadSize, maxMessageChars)
	case c.Rate < 0 || c.Duration < 0 || c.Drain < 0 || c.ReadEvery < 0:
		return fmt.Errorf("bench: rate, duration, drain and read-every must not be negative")
	case (c.Typing || c.Read) && !isChat(c.Scenario):
		return fmt.Errorf("bench: --typing and --read apply to fanout, many-rooms and small-rooms")
	}
	if c.Peer != "" {
		return c.validatePeer()
	}
	if c.Scenario == ScenarioInbox {
		return c.validateInbox()
	}
	return nil
}

// validatePeer checks that a run against a peer server asks only for
// what the peer's protocol has: messages in rooms, on one server.
func (c Config) validatePeer() error {
	switch {
	case !slices.Contains(Peers, c.Peer):
		return fmt.Errorf("bench: peer %q: want one of %s", c.Peer, strings.Join(Peers, ", "))
	case !isChat(c.Scenario):
		return fmt.Errorf("bench: --peer applies to fanout, many-rooms and small-rooms")
	case c.Typing || c.Read:
		return fmt.Errorf("bench: --typing and --read are LiveChat's events: not with --peer")
	case len(c.Targets) > 1:
		return fmt.Errorf("bench: --peer drives one server")
	}
	return nil
}

// validateInbox checks the room shapes of the inbox scenario.
func (c Config) validateInbox() error {
	switch {
	case c.Kind != KindPrivate && c.Kind != KindDirect:
		return fmt.Errorf("bench: kind %q: want %s or %s", c.Kind, KindPrivate, KindDirect)
	case c.RoomsPerUser < 1 || c.Users < 2:
		return fmt.Errorf("bench: inbox needs at least 2 users and 1 room per user")
	case c.Kind == KindDirect && (c.RoomsPerUser%2 != 0 || c.RoomsPerUser >= c.Users):
		return fmt.Errorf("bench: direct rooms: rooms-per-user %d must be even and below users (%d): "+
			"each user opens rooms with the next rooms-per-user/2 users", c.RoomsPerUser, c.Users)
	case c.Kind == KindPrivate && (c.Members < 2 || c.Members > c.Users || c.Members > 101):
		return fmt.Errorf("bench: private rooms of %d members: want 2 … min(users %d, 101)", c.Members, c.Users)
	case c.RoomSockets > 1:
		return fmt.Errorf("bench: room-sockets %g: want a share of each user's rooms, 0 … 1", c.RoomSockets)
	}
	return nil
}

// inboxRooms is the number of rooms the inbox scenario creates: every
// user in roomsPerUser rooms (a few in one more when users × roomsPerUser
// is not a multiple of the room size).
func inboxRooms(kind string, users, roomsPerUser, members int) int {
	if kind == KindDirect {
		return users * roomsPerUser / 2
	}
	if members < 1 {
		return 1
	}
	return max((users*roomsPerUser+members-1)/members, 1)
}

// isChat reports whether a scenario sends messages over sockets.
func isChat(scenario string) bool {
	return scenario == ScenarioFanout || scenario == ScenarioManyRooms || scenario == ScenarioSmallRooms
}
