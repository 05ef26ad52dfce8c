package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded starts this node's NATS server with JetStream, routed to
// the peers' servers.
func startEmbedded(cfg Config) (*server.Server, error) {
	host, port, err := splitAddr(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster listen: %w", err)
	}
	opts := &server.Options{
		ServerName:             cfg.Node,
		Host:                   host,
		Port:                   port,
		JetStream:              true,
		StoreDir:               filepath.Join(cfg.Dir, "jetstream"),
		MaxPayload:             cfg.MaxPayload,
		NoSigs:                 true, // the process's signals are LiveChat's
		DisableJetStreamBanner: true,
		SyncAlways:             cfg.Sync,
		// A peer that is down is retried every second; its failures are
		// logged once a minute (the default is every one), so that a
		// node's log still says something else while a peer is away.
		ReconnectErrorReports: 60,
	}
	if len(cfg.Peers) > 0 || cfg.RouteListen != "" {
		rhost, rport, err := splitAddr(cfg.RouteListen)
		if err != nil {
			return nil, fmt.Errorf("cluster route listen: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.Name, Host: rhost, Port: rport}
		for _, p := range cfg.Peers {
			opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", Host: p})
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats server: %w", err)
	}
	ns.SetLoggerV2(natsLogger{cfg.Logger.With("component", "nats")}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("cluster: nats server on %s not ready after 30s", cfg.Listen)
	}
	return ns, nil
}

func splitAddr(a string) (string, int, error) {
	host, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// natsLogger passes the NATS server's log to ours: its notices at debug
// level (it is chatty about routes), warnings and errors as they are.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(f string, a ...any) { n.l.Debug(fmt.Sprintf(f, a...)) }
func (n natsLogger) Warnf(f string, a ...any)   { n.l.Warn(fmt.Sprintf(f, a...)) }
func (n natsLogger) Fatalf(f string, a ...any)  { n.l.Error(fmt.Sprintf(f, a...)) }
func (n natsLogger) Errorf(f string, a ...any)  { n.l.Error(fmt.Sprintf(f, a...)) }
func (n natsLogger) Debugf(f string, a ...any)  {}
func (n natsLogger) Tracef(f string, a ...any)  {}
