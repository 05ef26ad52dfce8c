package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Config is one node's part in a cluster.
type Config struct {
	// Node names this node; unique in the cluster and stable across
	// restarts (it names the node's JetStream server).
	Node string
	// Name names the cluster; every node gives the same. Default "livechat".
	Name string
	// Dir holds the embedded NATS server's JetStream files.
	Dir string
	// Listen is the embedded NATS server's client address (host:port).
	Listen string
	// RouteListen is the address other nodes' NATS servers connect to.
	RouteListen string
	// Peers are the other nodes' route addresses (host:port).
	Peers []string
	// NATSURL, when set, points at an external NATS cluster with
	// JetStream instead of an embedded server; Listen, RouteListen and
	// Peers are then unused.
	NATSURL string
	// Replicas is the log's replica count when this node creates it (an
	// existing log keeps its own). Default min(3, nodes); with NATSURL, 3
	// (set 1 for a single NATS server).
	Replicas int
	// Sync makes JetStream fsync every write before it acknowledges it
	// (sync_interval: always), the cluster's --durability fsync.
	Sync bool
	// Timeout bounds a write waiting for the log's quorum and for this
	// node to apply it, retries included: long enough to ride out the election of a new log leader
	// after a node's loss (4–7 s measured on loopback). Default 8 s.
	Timeout time.Duration
	// MaxPayload is the largest log entry in bytes. Default 8 MiB.
	MaxPayload int32
	Logger     *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "livechat"
	}
	switch {
	case c.Replicas > 0:
	case c.NATSURL != "":
		c.Replicas = 3
	default:
		c.Replicas = min(3, len(c.Peers)+1)
	}
	if c.Timeout <= 0 {
		c.Timeout = 8 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 8 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Check reports what is wrong with c, naming the setting.
func (c *Config) Check() error {
	var errs []error
	if c.Node == "" || strings.ContainsAny(c.Node, " .*>\t\n") {
		errs = append(errs, fmt.Errorf("cluster node name %q: must be non-empty, without spaces, dots, * or >", c.Node))
	}
	if c.NATSURL == "" {
		if c.Dir == "" {
			errs = append(errs, errors.New("cluster: a directory for the log is needed (the data directory)"))
		}
		for _, a := range append([]string{c.Listen, c.RouteListen}, c.Peers...) {
			if _, _, err := net.SplitHostPort(a); err != nil {
				errs = append(errs, fmt.Errorf("cluster address %q: %w", a, err))
			}
		}
	}
	if c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("cluster replicas %d: at most 5", c.Replicas))
	}
	return errors.Join(errs...)
}
