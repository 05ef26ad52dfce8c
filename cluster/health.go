package cluster

import (
	"context"
	"fmt"
	"time"
)

// heardWithin is how recently the log's leader must have heard from a
// replica for it to count towards a quorum: Raft heartbeats go out every
// second, so three missed ones mean the replica is gone or cut off.
const heardWithin = 3 * time.Second

// Quorum reports whether this node can reach a quorum of the log: nil
// when the log has a leader that heard from a majority of its replicas
// within the last seconds, else why not. A node on the minority side of a
// partition, or left alone, gets no answer (its request times out) or the
// answer of a leader that no longer hears its followers; either is an
// error. It is the isolation guard's probe.
func (n *Node) Quorum(ctx context.Context) error {
	info, err := n.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("cluster: log info: %w", err)
	}
	ci := info.Cluster
	if ci == nil || info.Config.Replicas <= 1 {
		return nil
	}
	if ci.Leader == "" {
		return fmt.Errorf("cluster: the log has no leader")
	}
	heard := 1 // the leader
	for _, p := range ci.Replicas {
		if p.Current && !p.Offline && p.Active < heardWithin {
			heard++
		}
	}
	if 2*heard <= info.Config.Replicas {
		return fmt.Errorf("cluster: the log's leader %s hears %d of its %d replicas", ci.Leader, heard, info.Config.Replicas)
	}
	return nil
}
