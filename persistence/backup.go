package persistence

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotEmpty means Restore was given a directory that holds files.
var ErrNotEmpty = errors.New("persistence: data directory is not empty")

// Backup writes a consistent copy of the whole database to w, in Badger's
// backup stream format (DB.Backup): every live record as of one read
// timestamp, with its expiry, so revoked tokens stay revoked until they
// would have expired anyway. Writers are not stopped. It works on a store
// opened read-only too. Under fsync durability the stream may hold writes
// committed but not yet synced; it succeeds only once they are synced.
func (s *Store) Backup(w io.Writer) error {
	if err := s.SyncFailed(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := s.db.Backup(w, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := s.durable(false); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore loads a stream written by Backup into cfg.Dir, which must not
// exist or be empty (ErrNotEmpty otherwise). On failure the directory is
// emptied again, so that a retry starts clean.
func Restore(cfg Config, r io.Reader) (err error) {
	if cfg.InMemory || cfg.Dir == "" {
		return errors.New("persistence: restore needs a data directory")
	}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore into %s: %w", cfg.Dir, ErrNotEmpty)
	}
	s, err := Open(cfg)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			removeContents(cfg.Dir)
		}
	}()
	if s.readOnly {
		return fmt.Errorf("restore: %w", ErrStorageFull)
	}
	if err := s.write(func() error { return s.db.Load(r, 256) }); err != nil {
		return fmt.Errorf("restore: load: %w", err)
	}
	return s.init() // checks the restored schema version
}

func removeContents(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(dir + string(os.PathSeparator) + e.Name())
	}
}
