package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
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
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "livechat serve:", err)
		return 2
	}
	level := slog.LevelInfo
	if cfg.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = serve(ctx, cfg, log, func(addr net.Addr) {
		log.Info("livechat serving", "addr", addr.String(), "data", cfg.dataDirLabel(), "durability", cfg.durability)
	})
	if err != nil {
		log.Error("livechat stopped", "err", err)
		return 1
	}
	log.Info("livechat stopped cleanly")
	return 0
}

// serve runs the server until ctx ends, then shuts down in order: stop
// accepting and finish REST requests, close sockets with 1001, stop the
// actors, flush the writer, close the database.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, ready func(net.Addr)) error {
	if soft, _, err := raiseFileLimit(); err == nil && uint64(cfg.maxConns)+fdReserve > soft {
		// Every socket is a file: past the limit, accepts fail. Refuse
		// sockets (503) before that, keeping a reserve for the database's
		// files and REST connections.
		cfg.maxConns = int(soft) - fdReserve
		log.Info("socket cap set by the open-file limit", "max_conns", cfg.maxConns, "open_file_limit", soft)
	}
	// Badger creates its files 0666 less the umask: keep them the
	// owner's only, as the data directory is.
	syscall.Umask(0o077)
	store, err := persistence.Open(persistence.Config{
		Dir: cfg.dataDir, InMemory: cfg.inMemory, Durability: persistence.Durability(cfg.durability), Logger: log,
		StorageReserve: int64(cfg.storageReserve),
	})
	if err != nil {
		return err
	}
	if store.ReadOnly() {
		log.Warn("data volume full: serving read-only; free space and restart to accept writes", "data", cfg.dataDirLabel())
	}
	writer := store.NewWriter(persistence.WriterConfig{})
	defer func() {
		writer.Close()
		if err := store.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	secret := []byte(cfg.secret)
	if len(secret) == 0 {
		if secret, err = store.Secret(); err != nil {
			return err
		}
	}
	actorCfg, apiCfg := cfg.components()
	actorCfg.Store, actorCfg.Writer, actorCfg.Logger = store, writer, log
	engine, err := actors.NewEngine(actorCfg)
	if err != nil {
		return err
	}
	defer engine.Shutdown()
	apiCfg.Secret, apiCfg.Logger = secret, log
	srv, err := api.New(apiCfg, store, engine)
	if err != nil {
		return err
	}
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
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// fdReserve is how many file descriptors are kept for everything but
// sockets: Badger's tables and logs, REST connections, the listener.
const fdReserve = 256

// raiseFileLimit lifts the soft open-file limit to the hard one: every
// socket is a file, and the default soft limit is far below what a chat
// server holds.
func raiseFileLimit() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, 0, err
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
