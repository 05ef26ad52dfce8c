package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/joho/godotenv"

	"livechat/actors"
	"livechat/api"
	"livechat/persistence"
)

// runServe is `livechat serve`.
func runServe(args []string) int {
	_ = godotenv.Load() // a .env in the working directory; real environment wins
	cfg, err := parseServeFlags(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(serveUsage())
		return 0
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "livechat serve:", line)
		}
		fmt.Fprintln(os.Stderr, "livechat serve: see livechat serve -h")
		return 2
	}
	log, err := newLogger(os.Stderr, cfg.logFormat, cfg.logLevel, cfg.debug)
	if err != nil {
		fmt.Fprintln(os.Stderr, "livechat serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	governProcs(ctx, cfg.procs, log)
	err = serve(ctx, cfg, log, func(addr net.Addr) {
		log.Info("livechat serving", "addr", addr.String(), "data", cfg.dataDirLabel(), "durability", cfg.durability, "memory_budget", cfg.memoryBudget)
	})
	if err != nil {
		log.Error("livechat stopped", "err", err)
		return 1
	}
	log.Info("livechat stopped cleanly")
	return 0
}

// serve runs the server until ctx ends (or, in a cluster, until the node
// is isolated: an error), then shuts down in order: stop accepting and
// finish REST requests, close sockets with 1001, stop the actors, leave
// the cluster, flush the writer, close the database.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, ready func(net.Addr)) error {
	soft, _, err := raiseFileLimit()
	if err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	maxConns, err := socketCap(cfg.maxConns, soft)
	if err != nil {
		return err
	}
	if maxConns != cfg.maxConns {
		cfg.maxConns = maxConns
		log.Info("socket cap set by the open-file limit", "max_conns", cfg.maxConns, "open_file_limit", soft)
	}
	budget, err := parseMemoryBudget(cfg.memoryBudget)
	if err != nil {
		return err
	}
	reg := newRegistry()
	metrics := api.NewMetrics(reg)
	if cfg.metricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.metricsAddr, reg, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	// Badger creates its files 0666 less the umask: keep them the
	// owner's only, as the data directory is.
	syscall.Umask(0o077)
	store, err := persistence.Open(persistence.Config{
		Dir: cfg.dataDir, InMemory: cfg.inMemory, Durability: cfg.storeDurability(), Logger: log,
		MemoryBudget: budget.store, StorageReserve: int64(cfg.storageReserve),
	})
	if err != nil {
		return err
	}
	if store.ReadOnly() {
		log.Warn("data volume full: serving read-only; free space and restart to accept writes", "data", cfg.dataDirLabel())
	}
	writer := store.NewWriter(persistence.WriterConfig{Observer: metrics, Gather: cfg.commitGather})
	defer func() {
		writer.Close()
		if err := store.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	// In a cluster, the store becomes a replica before anything reads it
	// (the signing secret is the cluster's), and leaves the cluster after
	// the engine and server stopped (defers run last first).
	member, err := joinCluster(ctx, cfg, store, log)
	if err != nil && ctx.Err() != nil {
		log.Info("stopped while joining the cluster", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	defer member.Close()
	member.registerMetrics(reg)
	secret := []byte(cfg.secret)
	if len(secret) == 0 {
		if secret, err = store.Secret(); err != nil {
			return err
		}
	}
	actorCfg, apiCfg := cfg.components()
	actorCfg.Store, actorCfg.Writer, actorCfg.Logger = store, writer, log
	actorCfg.RecentBytes = budget.recent
	actorCfg.Bus = member.Bus()
	actorCfg.Refused = metrics.Refused
	engine, err := actors.NewEngine(actorCfg)
	if err != nil {
		return err
	}
	defer engine.Shutdown()
	apiCfg.Secret, apiCfg.Logger, apiCfg.Metrics = secret, log, metrics
	apiCfg.MaxOpenConns = openConnCap(soft)
	apiCfg.TokenCacheBytes = budget.tokens
	srv, err := api.New(apiCfg, store, engine)
	if err != nil {
		return err
	}
	keepMemoryLimit(ctx, budget, srv.Connections)
	if cfg.pprofAddr != "" {
		go func() {
			// net/http/pprof registers on the default mux.
			log.Info("pprof serving", "addr", cfg.pprofAddr, "err", http.ListenAndServe(cfg.pprofAddr, nil))
		}()
	}
	if !cfg.inMemory {
		stopAdmin := serveAdmin(cfg.dataDir, store, log)
		defer stopAdmin()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready(ln.Addr())
	var stopped error
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case stopped = <-member.Isolated():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	return errors.Join(stopped, srv.Shutdown(shutdownCtx))
}

// fdReserve is how many file descriptors are kept for everything but
// connections: Badger's tables and logs, the listeners, media files.
const fdReserve = 256

// openConnCap is how many TCP connections, REST and sockets alike, the
// server holds at once with an open-file limit of soft: all but
// fdReserve. Past it a connection is answered 503 at accept, so that idle
// keep-alive connections can never take the database's descriptors.
func openConnCap(soft uint64) int {
	return int(min(soft-fdReserve, math.MaxInt32))
}

// socketCap is the number of sockets the server may hold with an
// open-file limit of soft. Every socket is a file: past the limit, accepts
// fail. Sockets are refused (503) before that, keeping fdReserve for the
// database's files and REST connections; a limit that does not even cover
// the reserve is a start error, since the server could not work.
func socketCap(maxConns int, soft uint64) (int, error) {
	if soft <= fdReserve {
		return 0, fmt.Errorf("the open-file limit is %d, and %d descriptors are kept for the database and REST connections before any socket: "+
			"raise it (ulimit -n 65536 in the shell, LimitNOFILE=65536 in the systemd unit)", soft, fdReserve)
	}
	if uint64(maxConns)+fdReserve > soft {
		return int(soft - fdReserve), nil
	}
	return maxConns, nil
}

// raiseFileLimit lifts the soft open-file limit to the hard one: every
// socket is a file, and the default soft limit is far below what a chat
// server holds.
func raiseFileLimit() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	if r.Cur < r.Max {
		raised := r
		raised.Cur = r.Max
		// Some systems refuse the hard limit itself (macOS when it is
		// unlimited); the soft limit then stays what it was.
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			r = raised
		}
	}
	return r.Cur, r.Max, nil
}

func (c serveConfig) dataDirLabel() string {
	if c.inMemory {
		return "(in memory)"
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return c.dataDir
	}
	return abs
}
