package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"livechat/actors"
	"livechat/cluster"
	"livechat/persistence"

	"github.com/prometheus/client_golang/prometheus"
)

// member is this process's part in a cluster (--cluster-node): its node
// and the store's replica of the cluster's log, watched by the isolation
// guard. A nil *member is a single node: every method is then a no-op.
type member struct {
	node    *cluster.Node
	replica *cluster.Replica
	// isolated receives once why the guard gave up on this node.
	isolated chan error
	stop     context.CancelFunc
	done     chan struct{}
}

// clusterConfig is the cluster.Config of --cluster-*; the log's files go
// under the data directory.
func (c serveConfig) clusterConfig(log *slog.Logger) cluster.Config {
	return cluster.Config{
		Node:        c.clusterNode,
		Name:        c.clusterName,
		Dir:         filepath.Join(c.dataDir, "cluster"),
		Listen:      c.clusterListen,
		RouteListen: c.clusterRoutes,
		Peers:       splitList(c.clusterPeers),
		NATSURL:     c.clusterNATSURL,
		Replicas:    c.clusterReplicas,
		Sync:        c.durability == "fsync",
		Logger:      log.With("component", "cluster"),
	}
}

// checkCluster refuses cluster settings that cannot work, at parse time.
func (c serveConfig) checkCluster() error {
	if c.clusterNode == "" {
		return nil
	}
	if c.inMemory {
		return errors.New("--cluster-node: a cluster node keeps the cluster's log on disk, under --data; it cannot run --in-memory")
	}
	cc := c.clusterConfig(slog.New(slog.DiscardHandler))
	return cc.Check()
}

// joinCluster makes store a replica of the cluster's log when
// --cluster-node is set (nil otherwise): it starts this node, waits for
// the cluster's quorum, replays the log into store, and starts the
// isolation guard. It returns before anything is served, so that every
// read sees the cluster's state and every write goes through its log.
func joinCluster(ctx context.Context, cfg serveConfig, store *persistence.Store, log *slog.Logger) (*member, error) {
	if cfg.clusterNode == "" {
		return nil, nil
	}
	cc := cfg.clusterConfig(log)
	log.Info("joining the cluster: waiting for a majority of its nodes", "node", cc.Node, "cluster", cc.Name,
		"listen", cc.Listen, "routes", cc.RouteListen, "peers", cc.Peers, "nats_url", cc.NATSURL)
	start := time.Now()
	node, err := cluster.Start(ctx, cc)
	if err != nil {
		return nil, err
	}
	replayCtx, cancel := context.WithTimeout(ctx, firstWriteWait)
	replica, err := node.Replicate(replayCtx, store)
	cancel()
	if err != nil {
		node.Close()
		return nil, fmt.Errorf("cluster: replay the log: %w", err)
	}
	if err := firstWrite(ctx, store, replica, log); err != nil {
		node.Close()
		return nil, err
	}
	guardCtx, stop := context.WithCancel(context.Background())
	m := &member{node: node, replica: replica, isolated: make(chan error, 1), stop: stop, done: make(chan struct{})}
	g := guard{probe: m.probe, failed: replica.Err, every: time.Second, exitAfter: cfg.clusterIsolationExit, log: log}
	go func() {
		defer close(m.done)
		if err := g.run(guardCtx); err != nil {
			node.Fence() // the writes waiting on the log are answered now
			m.isolated <- err
		}
	}()
	log.Info("joined the cluster", "node", cc.Node, "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// firstWriteWait bounds the replay of the log and firstWrite: a fresh
// cluster elects the log's leaders while its nodes start, and a node's
// first reads and writes of the log may wait for that (5 s and more).
const firstWriteWait = 60 * time.Second

// firstWrite makes sure the cluster has its token signing secret (the
// first node to ask creates it through the log; the others read it back)
// before this node serves, retrying while the log is unavailable: on a
// fresh cluster a node's first write can be stored and not yet applied
// within the log's timeout. Creating the secret is idempotent (the first
// in the log wins), so retrying is safe. It is also this node's proof
// that its replica applies the log.
func firstWrite(ctx context.Context, store *persistence.Store, replica *cluster.Replica, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, firstWriteWait)
	defer cancel()
	for {
		if err := replica.Err(); err != nil {
			return fmt.Errorf("cluster: this node stopped applying the log: %w", err)
		}
		_, err := store.Secret()
		if err == nil || !errors.Is(err, persistence.ErrUnavailable) {
			return err
		}
		log.Warn("cluster: the first write is not through yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: no write through the log within %s: %w", firstWriteWait, err)
		case <-time.After(time.Second):
		}
	}
}

// storeDurability is the database's: --durability on a single node. A
// cluster node's database is a replica it can rebuild from the log, which
// holds the durable copy (synced per --durability), so it needs no fsync:
// its last applied position is written with each applied command, and
// after a crash it resumes the log from there.
func (c serveConfig) storeDurability() persistence.Durability {
	if c.clusterNode != "" {
		return persistence.DurabilityOS
	}
	return persistence.Durability(c.durability)
}

// Bus is the node's bus for rooms' ephemeral events; nil for a single
// node.
func (m *member) Bus() actors.Bus {
	if m == nil {
		return nil
	}
	return m.node.Bus()
}

// registerMetrics adds the node's inter-node traffic to reg (nothing
// for a single node).
func (m *member) registerMetrics(reg prometheus.Registerer) {
	if m == nil {
		return
	}
	reg.MustRegister(newRouteCollector(m.node.RouteTraffic))
}

// probe asks the log whether it has a quorum, as seen from this node.
func (m *member) probe(ctx context.Context) error { return m.node.Quorum(ctx) }

// Isolated receives why the node must stop (nil channel for a single
// node: it never receives).
func (m *member) Isolated() <-chan error {
	if m == nil {
		return nil
	}
	return m.isolated
}

// Close stops the guard and leaves the cluster. Call it after the server
// and the engine have stopped, before the store closes.
func (m *member) Close() {
	if m == nil {
		return
	}
	m.stop()
	<-m.done
	m.replica.Close() // no command is being applied once the store closes
	m.node.Close()
}

// guard watches a node's hold on the cluster. A node cut off from the
// quorum cannot write anything (each write fails after the log's
// timeout), and one whose replica stopped applying the log would serve
// stale reads; the design's answer to both is to exit and let the
// supervisor start a fresh process, which replays the log and rejoins.
type guard struct {
	probe     func(context.Context) error // nil while the log is reachable
	failed    func() error                // non-nil once the replica stopped applying
	every     time.Duration               // between probes
	exitAfter time.Duration               // of failed probes in a row
	log       *slog.Logger
}

// run probes until ctx ends (nil) or the node must exit (why). Only
// probes made count: a process paused (SIGSTOP) and resumed starts
// counting at its first failed probe after the pause, not before it.
func (g guard) run(ctx context.Context) error {
	tick := time.NewTicker(g.every)
	defer tick.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := g.failed(); err != nil {
			g.log.Error("cluster: this node stopped applying the log; exiting for a restart", "err", err)
			return fmt.Errorf("cluster: the replica stopped applying the log: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, max(g.every, 2*time.Second))
		err := g.probe(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if !failingSince.IsZero() {
				g.log.Info("cluster: the log is reachable again", "after", time.Since(failingSince).Round(time.Millisecond))
				failingSince = time.Time{}
			}
		case failingSince.IsZero():
			failingSince = time.Now()
			g.log.Warn("cluster: the log is out of reach; writes fail until it is back", "err", err, "exit_after", g.exitAfter)
		case time.Since(failingSince) >= g.exitAfter:
			g.log.Error("cluster: the log has been out of reach too long; exiting for a restart", "for", time.Since(failingSince).Round(time.Second), "err", err)
			return fmt.Errorf("cluster: isolated from the cluster's quorum for %s: %w", g.exitAfter, err)
		}
	}
}
