package persistence

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Estimated bytes a write adds to the write-ahead log, for the reserve:
// generous, since an estimate too low lets a write eat into the reserve.
const (
	smallRecord     = 256  // a revoked token, the secret
	accountRecord   = 1024 // a user or room with its index keys
	messageOverhead = 512  // a message's keys, sender fields, id counter, log framing
)

// openMode prepares the data directory (private modes) and decides how
// Badger opens it: read-only when the volume is too full to open it
// read-write (full), or for Config.ReadOnly.
func openMode(cfg Config) (readOnly, full bool, err error) {
	if cfg.InMemory {
		return false, false, nil
	}
	if cfg.ReadOnly {
		// Reading must not create: a mistyped path is an error, not an
		// empty database.
		if _, err := os.Stat(filepath.Join(cfg.Dir, "MANIFEST")); err != nil {
			return false, false, fmt.Errorf("persistence: %s holds no database: %w", cfg.Dir, err)
		}
	}
	logs, free, err := prepareDir(cfg.Dir)
	if err != nil {
		return false, false, err
	}
	if err := checkOpenSpace(logs, free); err != nil {
		return false, false, err
	}
	full = free < logs+openMargin
	// Badger refuses to open read-only a directory whose write-ahead log
	// must be replayed (ErrTruncateNeeded, which it does not wrap): one
	// left by a killed process is opened read-write, to replay it.
	return full || cfg.ReadOnly && logs == 0, full, nil
}

// watchSpace starts keeping the reserve on the data volume.
func (s *Store) watchSpace(cfg Config, opts badger.Options) error {
	if cfg.InMemory || cfg.ReadOnly {
		return nil
	}
	reserve := cfg.StorageReserve
	if reserve <= 0 {
		reserve = AutoReserve(opts)
	}
	sp, err := newSpace(cfg.Dir, reserve, s.readOnly, cfg.Logger)
	if err != nil {
		return err
	}
	s.space = sp
	return nil
}

// Writable reports whether the store accepts writes now: nil, or
// ErrStorageFull while the data volume is below its reserve (writes resume
// by themselves when space is freed) or when the store was opened
// read-only on a full volume (until it is opened again).
func (s *Store) Writable() error { return s.space.writable() }

// SyncFailed reports, under fsync durability, the disk sync that failed:
// from then on every write is refused, since the kernel may have dropped
// what it could not write. Restart the server; it replays what is on disk.
func (s *Store) SyncFailed() error {
	if s.wal == nil {
		return nil
	}
	return s.wal.broken()
}

// ReadOnly reports whether the store was opened read-only because the data
// volume was full: writes stay refused until it is opened again.
func (s *Store) ReadOnly() bool { return s.readOnly }

// AdmitMessage reserves room for a chat message of textBytes, or refuses
// it with ErrStorageFull. Rooms call it before giving the message a seq, so
// a refusal leaves no gap. It does no I/O and never blocks (it decides on
// the last measurement, at most a second old, less what was admitted
// since), so an actor may call it.
func (s *Store) AdmitMessage(textBytes int) error {
	return s.space.admit(int64(textBytes)+messageOverhead, false)
}

// checkOpenSpace refuses, with ErrStorageFull, to open a directory whose
// write-ahead log must be replayed (a killed process left it) on a volume
// without room to do so. Badger cannot read such a directory read-only
// (it insists on truncating the log), opening it read-write would fault
// while flushing, and on tmpfs even reading the log's unwritten pages
// faults once the volume is full.
func checkOpenSpace(logs, free int64) error {
	if logs == 0 || free >= logs+openMargin {
		return nil
	}
	return fmt.Errorf("persistence: the data volume has %d bytes free, and replaying the write-ahead log left by a run that did not close needs %d: free some space and start again: %w",
		free, logs+openMargin, ErrStorageFull)
}
