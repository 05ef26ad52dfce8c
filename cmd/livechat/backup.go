package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"livechat/persistence"
)

// A running server answers backups on a Unix socket inside its data
// directory. The directory is 0700 and the socket 0600, so the operating
// system lets only the server's own user (and root) connect: no token to
// leak, nothing listening on the network, and `livechat backup --data DIR`
// works the same whether the server is running or stopped.
const adminSocketName = "admin.sock"

// backupOK is the trailer a complete backup stream ends with; a stream
// cut short (the server stopped, the store failed) lacks it.
const backupOK = "X-Livechat-Backup"

// serveAdmin serves GET /backup on the data directory's admin socket until
// the returned function is called. Failing to listen only disables online
// backups: it is logged, not fatal.
func serveAdmin(dataDir string, store *persistence.Store, log *slog.Logger) (stop func()) {
	path := filepath.Join(dataDir, adminSocketName)
	_ = os.Remove(path) // left by a killed server; the store's lock says none runs
	ln, err := net.Listen("unix", path)
	if err != nil {
		log.Warn("admin socket unavailable: backups need the server stopped", "path", path, "err", err)
		return func() {}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		log.Warn("admin socket mode", "path", path, "err", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Trailer", backupOK)
		if err := store.Backup(w); err != nil {
			log.Error("backup failed", "err", err)
			return
		}
		w.Header().Set(backupOK, "complete")
		log.Info("backup served")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

const backupUsage = `usage: livechat backup [--data DIR] --out FILE

Writes a consistent copy of the database (Badger's backup stream) to FILE
("-" for standard output). A server running on DIR is asked for it over
DIR/admin.sock; a stopped DIR is read directly. Load it with
livechat restore.
`

// runBackup is `livechat backup`.
func runBackup(args []string) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data", envOr("LIVECHAT_DATA_DIR", "./data"), "data directory (LIVECHAT_DATA_DIR)")
	out := fs.String("out", "", "backup file to write; - for standard output")
	if err := fs.Parse(args); err != nil || *out == "" || fs.NArg() > 0 {
		fmt.Fprint(os.Stderr, backupUsage)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	syscall.Umask(0o077) // the copy holds password hashes and the signing secret
	if err := writeAtomically(*out, func(w io.Writer) error { return backup(*dataDir, w) }); err != nil {
		fmt.Fprintln(os.Stderr, "livechat backup:", err)
		return 1
	}
	return 0
}

// backup streams the database in dataDir to w, from its running server
// if there is one.
func backup(dataDir string, w io.Writer) error {
	err := backupOnline(dataDir, w)
	if !errors.Is(err, errNoServer) {
		return err
	}
	store, err := persistence.Open(persistence.Config{Dir: dataDir, ReadOnly: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return fmt.Errorf("no server answers on %s, and the directory cannot be read: %w", filepath.Join(dataDir, adminSocketName), err)
	}
	if err := store.Backup(w); err != nil {
		_ = store.Close()
		return err
	}
	return store.Close()
}

var errNoServer = errors.New("no server on the admin socket")

func backupOnline(dataDir string, w io.Writer) error {
	path := filepath.Join(dataDir, adminSocketName)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	res, err := client.Get("http://livechat/backup")
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return errNoServer
		}
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", res.Status)
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return fmt.Errorf("receive backup: %w", err)
	}
	if res.Trailer.Get(backupOK) != "complete" {
		return errors.New("the server's backup stream ended early (see its log)")
	}
	return nil
}

// writeAtomically writes path through fill: into a temporary file beside
// it, synced, then renamed, so that a failed backup never leaves a file
// that looks complete. "-" writes to standard output.
func writeAtomically(path string, fill func(io.Writer) error) error {
	if path == "-" {
		return fill(os.Stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, there is nothing left to remove
	if err := fill(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

const restoreUsage = `usage: livechat restore [--data DIR] --in FILE

Loads a backup written by livechat backup into DIR, which must not exist or
be empty. Then start livechat serve on DIR.
`

// runRestore is `livechat restore`.
func runRestore(args []string) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data", envOr("LIVECHAT_DATA_DIR", "./data"), "empty data directory to restore into (LIVECHAT_DATA_DIR)")
	in := fs.String("in", "", "backup file to read; - for standard input")
	if err := fs.Parse(args); err != nil || *in == "" || fs.NArg() > 0 {
		fmt.Fprint(os.Stderr, restoreUsage)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	syscall.Umask(0o077)
	r := io.Reader(os.Stdin)
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "livechat restore:", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := persistence.Restore(persistence.Config{Dir: *dataDir, Logger: log}, r); err != nil {
		fmt.Fprintln(os.Stderr, "livechat restore:", err)
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
