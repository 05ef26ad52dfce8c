package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// Replica keeps a store applying the cluster's log, and carries the
// store's writes into it (it is the store's persistence.Replicator).
type Replica struct {
	node     *Node
	store    *persistence.Store
	instance string // this run of this node: name and a random tag
	next     atomic.Uint64

	mu      sync.Mutex
	waiting map[uint64]chan persistence.Outcome
	applied uint64        // the last log entry applied
	moved   chan struct{} // closed and replaced whenever applied moves
	err     error         // why applying stopped; the replica is then unusable

	cancel  context.CancelFunc // stops following the log
	stopped chan struct{}      // closed once it has stopped
}

// Replicate replays the log into store from where store left off, keeps
// applying it from then on, and makes store write through it. It returns
// once store has applied everything the log held when it was called, or
// with an error once ctx ends first.
func (n *Node) Replicate(ctx context.Context, store *persistence.Store) (*Replica, error) {
	pos, err := store.Applied()
	if err != nil {
		return nil, err
	}
	tag := make([]byte, 6)
	_, _ = rand.Read(tag)
	r := &Replica{node: n, store: store, instance: n.cfg.Node + "/" + hex.EncodeToString(tag),
		waiting: map[uint64]chan persistence.Outcome{}, applied: pos.Seq, moved: make(chan struct{})}
	if pos.Seq > 0 {
		r.applied = pos.Seq - 1 // that entry may be part-applied: it is read again
	}
	follow, cancel := context.WithCancel(n.life)
	r.cancel, r.stopped = cancel, make(chan struct{})
	go func() {
		defer close(r.stopped)
		r.stop(r.follow(follow, pos))
	}()
	store.Replicate(r)
	// A node that has just started may take longer than one Sync to get
	// its first entries (its reader of the log waits for the cluster's
	// leaders): wait as long as ctx allows, unless applying failed.
	for {
		err := r.Sync()
		switch {
		case err == nil:
			return r, nil
		case r.Err() != nil:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond): // Sync may fail at once
		}
	}
}

// followRetryFor is how long the replica keeps starting a new reader of
// the log while none gets anywhere. A reader fails when its consumer
// cannot be made: the log's leader is being elected (after the leader's
// loss or a partition; seconds), and the request times out (5 s). A node
// out of the log's reach for longer is the isolation guard's to stop.
const followRetryFor = 30 * time.Second

// followRetryPause is the pause between two readers of the log.
const followRetryPause = 500 * time.Millisecond

// follow applies the log from where the replica is until ctx ends or
// applying an entry fails (why it stopped), starting a new reader from
// the next entry whenever one fails, until none has applied anything for
// followRetryFor. Giving up at the first failed reader would stop a node
// that is on the majority side, at once, whenever its reader had to be
// made again during a leader election.
func (r *Replica) follow(ctx context.Context, skip persistence.LogPosition) error {
	var applyErr error
	apply := func(seq uint64, data []byte) error {
		if err := r.apply(seq, data, skip); err != nil {
			applyErr = err
			return err
		}
		return nil
	}
	stuckSince := time.Now()
	for {
		from := r.appliedSeq() + 1
		err := r.node.Follow(ctx, from, apply)
		switch {
		case err == nil || ctx.Err() != nil:
			return errors.New("cluster: replica closed")
		case applyErr != nil:
			return err
		case r.appliedSeq() >= from:
			stuckSince = time.Now()
		}
		if time.Since(stuckSince) >= followRetryFor {
			return fmt.Errorf("%w (no reader of the log got anywhere for %s)", err, followRetryFor)
		}
		r.node.cfg.Logger.Warn("cluster: the log's reader failed; starting a new one", "from", r.appliedSeq()+1, "err", err)
		select {
		case <-ctx.Done():
			return errors.New("cluster: replica closed")
		case <-time.After(followRetryPause):
		}
	}
}

// appliedSeq is the last log entry applied.
func (r *Replica) appliedSeq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// Close stops applying the log and returns once no entry is being
// applied: close the replica before its store.
func (r *Replica) Close() {
	r.cancel()
	<-r.stopped
}

// apply applies one log entry and answers the commands this run proposed.
func (r *Replica) apply(seq uint64, data []byte, skip persistence.LogPosition) error {
	e := &pb.Entry{}
	if err := proto.Unmarshal(data, e); err != nil {
		return fmt.Errorf("cluster: log entry %d: %w", seq, err)
	}
	outs, err := r.store.ApplyEntry(seq, e, skip, e.Node == r.instance)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Node == r.instance {
		for i, c := range e.Commands {
			if w, ok := r.waiting[c.Proposal]; ok {
				delete(r.waiting, c.Proposal)
				w <- outs[i]
			}
		}
	}
	r.applied = seq
	close(r.moved)
	r.moved = make(chan struct{})
	return nil
}

// stop records why the replica stopped applying and wakes every waiter.
func (r *Replica) stop(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	close(r.moved)
	r.moved = make(chan struct{})
}

// Err is why the replica stopped applying the log, nil while it applies.
// A replica that stopped has diverged or lost its node: restart the node.
func (r *Replica) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Propose implements persistence.Replicator.
func (r *Replica) Propose(cmd *pb.Command) (any, error) {
	cmd.Proposal = r.next.Add(1)
	data, err := proto.Marshal(&pb.Entry{Node: r.instance, Commands: []*pb.Command{cmd}})
	if err != nil {
		return nil, err
	}
	answer := make(chan persistence.Outcome, 1)
	r.mu.Lock()
	r.waiting[cmd.Proposal] = answer
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.waiting, cmd.Proposal)
		r.mu.Unlock()
	}
	// One Timeout bounds the append and its apply here together, so a
	// client hears within it whatever the log's election or this node's
	// reader cost.
	ctx, cancel := context.WithTimeout(r.node.life, r.node.cfg.Timeout)
	defer cancel()
	id := fmt.Sprintf("%s/%d", r.instance, cmd.Proposal)
	if _, err := r.node.Append(ctx, id, data); err != nil {
		forget()
		return nil, fmt.Errorf("%w: %v", persistence.ErrUnavailable, err)
	}
	select {
	case out := <-answer:
		return out.Value, out.Err
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("%w: stored, not applied here within %s", persistence.ErrUnavailable, r.node.cfg.Timeout)
	}
}

// syncAsk bounds Sync's question to the log.
const syncAsk = 2 * time.Second

// Sync implements persistence.Replicator: it waits until this replica
// has applied the log's last entry as of the call.
func (r *Replica) Sync() error {
	ctx, cancel := context.WithTimeout(r.node.life, r.node.cfg.Timeout)
	defer cancel()
	// A log that answers at all answers within milliseconds: a read
	// barrier does not wait out a whole write timeout for a lost leader.
	ask, cancelAsk := context.WithTimeout(ctx, syncAsk)
	last, err := r.node.LastSeq(ask)
	cancelAsk()
	if err != nil {
		return fmt.Errorf("%w: %v", persistence.ErrUnavailable, err)
	}
	for {
		r.mu.Lock()
		applied, moved, stopped := r.applied, r.moved, r.err
		r.mu.Unlock()
		switch {
		case applied >= last:
			return nil
		case stopped != nil:
			return fmt.Errorf("%w: %v", persistence.ErrUnavailable, stopped)
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("%w: applied %d of %d", persistence.ErrUnavailable, applied, last)
		}
	}
}
