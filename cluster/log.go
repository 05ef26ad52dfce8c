package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Log names: one stream holds the cluster's log, on one subject.
const (
	logStream  = "LC_LOG"
	logSubject = "lc.log"
)

// Node is one member of a cluster: its NATS server (embedded unless
// Config.NATSURL), a connection to it, and the replicated log.
type Node struct {
	cfg    Config
	server *server.Server // nil with an external NATS
	conn   *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	// life ends when the node closes: it stops following the log.
	life  context.Context
	close context.CancelFunc
}

// Start starts this node's NATS server, or connects to the external one,
// and opens the log, creating it on first start. It returns once the log
// has a leader: with an embedded server, when a majority of the
// configured nodes are up.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg}
	n.life, n.close = context.WithCancel(context.Background())
	url := cfg.NATSURL
	if url == "" {
		ns, err := startEmbedded(cfg)
		if err != nil {
			return nil, err
		}
		n.server, url = ns, ns.ClientURL()
	}
	conn, err := nats.Connect(url, nats.Name("livechat-"+cfg.Node), nats.MaxReconnects(-1))
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("cluster: connect %s: %w", url, err)
	}
	n.conn = conn
	if n.js, err = jetstream.New(conn); err != nil {
		n.Close()
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	if err := n.openLog(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// openLog creates or opens the log stream, retrying while the JetStream
// cluster elects its leaders. The meta leader answers the creation before
// the stream has a leader of its own: it is open once the stream answers.
func (n *Node) openLog(ctx context.Context) error {
	cfg := jetstream.StreamConfig{
		Name:        logStream,
		Subjects:    []string{logSubject},
		Storage:     jetstream.FileStorage,
		Replicas:    n.cfg.Replicas,
		Duplicates:  2 * time.Minute, // a retried append within it is stored once
		MaxMsgSize:  n.cfg.MaxPayload,
		AllowDirect: true,
	}
	for {
		attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
		// An existing log is opened as it is: a node never changes its
		// replicas or limits (an external NATS node with no peers would
		// otherwise turn an R3 log into R1).
		s, err := n.js.Stream(attempt, logStream)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s, err = n.js.CreateStream(attempt, cfg)
		}
		if err == nil {
			_, err = s.Info(attempt)
		}
		cancel()
		if err == nil {
			n.stream = s
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: open the log: %w (last: %v)", ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Append stores entry in the log and returns its position once the
// log's quorum holds it. id makes a retried append idempotent within
// two minutes: the same id is stored once. While the log has no leader
// (an election after a node's loss) it retries with the same id until
// Timeout.
func (n *Node) Append(ctx context.Context, id string, entry []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	defer context.AfterFunc(n.life, cancel)() // Fence ends the attempt in flight
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, appendAttempt)
		ack, err := n.js.Publish(attempt, logSubject, entry, jetstream.WithMsgID(id))
		cancelAttempt()
		if err == nil {
			return ack.Sequence, nil
		}
		select {
		case <-ctx.Done(): // Timeout, the caller's, or Fence
			if n.life.Err() != nil {
				return 0, fmt.Errorf("cluster: append: node closed: %w", err)
			}
			return 0, fmt.Errorf("cluster: append: %w", err)
		case <-time.After(appendRetry):
		}
	}
}

// followExpiry and followHeartbeat pace the log's follower: it pulls for
// followExpiry at a time and takes the leader for lost after two missed
// heartbeats.
const (
	followExpiry    = 2 * time.Second
	followHeartbeat = 500 * time.Millisecond
)

// appendAttempt bounds one publish: a leader that answers at all answers
// within milliseconds, so a longer wait means it is gone.
const appendAttempt = time.Second

// appendRetry is the pause between attempts while the log elects a leader.
const appendRetry = 100 * time.Millisecond

// followStall is how long a follower that has not received an entry
// waits before it asks whether the log moved on without it (a stall is
// two such checks without an entry: 1.5-3 s).
const followStall = 1500 * time.Millisecond

// Follow calls apply with every entry of the log from position from on,
// in log order, each once, until ctx ends or apply fails. It is how a
// node replays the log into its store and then keeps up with it.
//
// It reads through an ordered consumer, which lives on one server of
// the stream's, not necessarily this node's, and reads that server's
// copy of the log. When that server goes, the reader notices by missed
// heartbeats and recreates the consumer elsewhere; but a server that
// stays and keeps beating while its copy of the log falls behind (after a
// leader's loss, while it catches up) would stall this node's applies,
// and every write answered through them. So a follower that has received
// nothing for followStall while the log has entries past its own starts
// a new consumer, from where it stopped.
func (n *Node) Follow(ctx context.Context, from uint64, apply func(seq uint64, entry []byte) error) error {
	next := max(from, 1)
	for {
		err := n.followFrom(ctx, &next, apply)
		if !errors.Is(err, errFollowStalled) {
			return err
		}
		n.cfg.Logger.Warn("cluster: the log's reader stalled behind the log; reading it through a new consumer", "from", next)
	}
}

// errFollowStalled ends one consumer of the log that fell behind it.
var errFollowStalled = errors.New("cluster: follow the log: stalled")

// followFrom reads the log from *next on through one ordered consumer,
// moving *next past every entry applied, until ctx ends, apply fails, or
// the consumer stalls behind the log (errFollowStalled).
func (n *Node) followFrom(ctx context.Context, next *uint64, apply func(seq uint64, entry []byte) error) error {
	cons, err := n.js.OrderedConsumer(ctx, logStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   *next,
	})
	if err != nil {
		return fmt.Errorf("cluster: follow the log: %w", err)
	}
	// The library's 5 s heartbeat (10 s to notice a lost server) would
	// stall applies that long.
	msgs, err := cons.Messages(jetstream.PullExpiry(followExpiry), jetstream.PullHeartbeat(followHeartbeat))
	if err != nil {
		return fmt.Errorf("cluster: follow the log: %w", err)
	}
	// The consumer is read on a goroutine of its own and left behind, not
	// waited for, when this reader gives up on it: while the library
	// recreates a consumer whose server went (up to 10 s a try, with
	// backoff) it holds the lock Stop and Next take, and waiting for it
	// would stall this node's applies that long. What the abandoned
	// goroutine still receives is dropped: the next consumer starts from
	// *next.
	done := make(chan struct{})
	defer func() {
		close(done)
		go msgs.Stop()
	}()
	entries := make(chan jetstream.Msg)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := msgs.Next()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case entries <- m:
			case <-done:
				return
			}
		}
	}()
	var received atomic.Int64 // entries received, for the watchdog
	stalled := make(chan struct{})
	go func() {
		tick := time.NewTicker(followStall)
		defer tick.Stop()
		last := int64(-1)
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			now := received.Load()
			if now != last {
				last = now
				continue
			}
			ask, cancel := context.WithTimeout(ctx, syncAsk)
			head, err := n.LastSeq(ask)
			cancel()
			if err == nil && head >= atomic.LoadUint64(next) {
				close(stalled)
				return
			}
		}
	}()
	for {
		var m jetstream.Msg
		select {
		case m = <-entries:
		case <-stalled:
			return errFollowStalled
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("cluster: follow the log: %w", err)
		}
		received.Add(1)
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("cluster: log entry: %w", err)
		}
		if err := apply(md.Sequence.Stream, m.Data()); err != nil {
			return err
		}
		atomic.StoreUint64(next, md.Sequence.Stream+1)
	}
}

// LastSeq is the log's newest position: a reader that has applied it has
// seen every write acknowledged before the call.
func (n *Node) LastSeq(ctx context.Context) (uint64, error) {
	info, err := n.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("cluster: log info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Fence ends this node's part in the log at once: every append and read
// barrier in flight fails, as does every later one, and the log's reader
// stops. A node that must leave because it is cut off from the quorum
// fences first, so that the requests waiting on the log are answered
// (unavailable) instead of holding its shutdown for the log's timeout.
func (n *Node) Fence() { n.close() }

// Close disconnects and stops the embedded server, waiting at most
// closeWait for it: a server cut off from its peers waits on each route's
// last write up to the route's write deadline (10 s, twice when a write
// was already blocked), and a node that leaves because it is isolated
// must not linger that long. Its stream files are then left as a kill
// would leave them, which JetStream recovers from when the node starts
// again.
func (n *Node) Close() {
	n.close()
	if n.conn != nil {
		n.conn.Close()
	}
	if n.server == nil {
		return
	}
	stopped := make(chan struct{})
	go func() {
		n.server.Shutdown()
		n.server.WaitForShutdown()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(closeWait):
		n.cfg.Logger.Warn("cluster: the embedded NATS server did not stop in time; leaving it", "waited", closeWait)
	}
}

// closeWait bounds how long Close waits for the embedded server to stop.
const closeWait = 3 * time.Second
