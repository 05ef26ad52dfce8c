package persistence

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// Durability says when a write counts as done.
type Durability string

const (
	// DurabilityFsync syncs every group commit to disk: no acknowledged
	// message is lost, even on power failure.
	DurabilityFsync Durability = "fsync"
	// DurabilityOS leaves flushing to the operating system: acknowledged
	// messages survive a killed process, not a power failure.
	DurabilityOS Durability = "os"
)

// Config configures a Store.
type Config struct {
	// Dir is the data directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests). Default false.
	InMemory bool
	// Durability is DurabilityFsync (default) or DurabilityOS.
	Durability Durability
	// Logger receives Badger's warnings and errors. Default: slog.Default().
	Logger *slog.Logger
	// MemoryBudget is the bytes the store may hold in memory: Badger's
	// memtables, block and index caches, and the decoded users and rooms.
	// Default DefaultMemoryBudget (256 MiB), at least MinMemoryBudget.
	MemoryBudget int64

	// StorageReserve is the free bytes kept on the data volume: below it
	// (plus what flushing the memtables needs) writes fail with
	// ErrStorageFull. Default 0: AutoReserve of the database's options.
	StorageReserve int64
	// ReadOnly opens the directory for reading only (a backup of a stopped
	// server); a directory left by a killed process is opened read-write
	// once, to replay its log. Only read from it. Default false.
	ReadOnly bool
}

// Store is LiveChat's database.
type Store struct {
	db     *badger.DB
	log    *slog.Logger
	nextID atomic.Int64 // last message id handed out
	// Creations of one kind are serialized: each reads and bumps its id
	// counter in its transaction, and concurrent ones would all conflict on
	// that key. Ids stay dense (1, 2, 3…) across restarts.
	createUser, createRoom sync.Mutex
	updateUser             sync.Mutex // cluster mode: this node's profile updates take turns
	cache                  recordCache
	clientIDs              *clientIDs
	plan                   memoryPlan
	space                  *space  // nil in memory
	mapped                 *mapped // nil in memory
	readOnly               bool    // opened read-only (full volume, or Config.ReadOnly)
	media                  *Media
	repl                   Replicator  // cluster mode; nil on a single node
	applying               applying    // cluster mode: the command being applied
	observer               observerBox // cluster mode: told what the log changed
	// told is held from a command's write until the observer has been
	// told of it (cluster mode): see BetweenApplies.
	told sync.Mutex
	// wal syncs Badger's writes under fsync durability; nil otherwise.
	wal *walSync
	// unsynced counts writes being committed or synced (see view).
	unsynced atomic.Int64
}

// Open opens (creating if needed) the database described by cfg.
func Open(cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Durability == "" {
		cfg.Durability = DurabilityFsync
	}
	if cfg.Durability != DurabilityFsync && cfg.Durability != DurabilityOS {
		return nil, fmt.Errorf("persistence: unknown durability %q (want fsync or os)", cfg.Durability)
	}
	plan := planMemory(cfg.MemoryBudget)
	if cfg.InMemory {
		// Tests open many small stores; their memtables need not be large.
		plan.memTableSize = min(plan.memTableSize, 8<<20)
	}
	opts := plan.badgerOptions(badger.DefaultOptions(cfg.Dir).
		WithInMemory(cfg.InMemory).
		// Under fsync durability the store syncs what Badger wrote itself
		// (walsync.go).
		WithSyncWrites(false).
		WithLogger(badgerLogger{cfg.Logger}).
		WithNumVersionsToKeep(1).
		// A deleted message's text must leave the files, not only the
		// answers: the tables flushed on close are compacted, which drops
		// the versions a tombstone replaced (compactions drop them from
		// older tables as they run).
		WithCompactL0OnClose(true).
		WithMetricsEnabled(false))
	if cfg.InMemory {
		opts.Dir, opts.ValueDir = "", ""
	}
	readOnly, full, err := openMode(cfg)
	if err != nil {
		return nil, err
	}
	if !readOnly {
		// Only a writable volume: the replay writes new tables.
		if err := replayLargerMemtables(opts); err != nil {
			return nil, err
		}
	}
	db, err := badger.Open(opts.WithReadOnly(readOnly))
	if err != nil {
		if full {
			return nil, fmt.Errorf("open badger read-only, the data volume being full (free some space): %w", err)
		}
		return nil, fmt.Errorf("open badger: %w", err)
	}
	s := &Store{db: db, log: cfg.Logger, plan: plan, readOnly: readOnly}
	if cfg.Durability == DurabilityFsync && !cfg.InMemory && !readOnly {
		if s.wal, err = newWALSync(opts.Dir); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	s.cache.maxBytes = plan.records
	s.clientIDs = newClientIDs(db, plan.clientIDs)
	if err := s.init(); err != nil {
		_ = db.Close()
		s.wal.close()
		return nil, err
	}
	if err := s.watchSpace(cfg, opts); err != nil {
		_ = db.Close()
		s.wal.close()
		return nil, err
	}
	s.media = newMedia(cfg, s.space)
	s.media.store = s
	if !cfg.InMemory {
		s.mapped = newMapped(cfg.Dir, plan.mapped, cfg.Logger)
	}
	return s, nil
}

func (s *Store) init() error {
	if s.readOnly {
		return s.view(func(txn *badger.Txn) error { return s.readMeta(txn, false) })
	}
	if err := s.upgrade(); err != nil {
		return err
	}
	if err := s.indexMessageIDs(); err != nil {
		return err
	}
	return s.write(func() error {
		return s.db.Update(func(txn *badger.Txn) error { return s.readMeta(txn, true) })
	})
}

// write runs commit, a write to Badger, and returns once it is durable
// (durable). Until then a read that might see it waits for its sync
// (view).
func (s *Store) write(commit func() error) error {
	if err := s.SyncFailed(); err != nil {
		return err
	}
	s.unsynced.Add(1)
	defer s.unsynced.Add(-1)
	if err := commit(); err != nil {
		return err
	}
	return s.durable(false)
}

// durable returns once every write committed before the call is on disk,
// under fsync durability (walSync.sync says what light means); under os
// durability at once.
func (s *Store) durable(light bool) error {
	if s.wal == nil {
		return nil
	}
	return s.wal.sync(light)
}

// view runs fn in a read-only transaction. Under fsync durability it sees
// only writes that are on disk: a write Badger committed is visible before
// its sync returns, so with writes under way the read waits for the next
// sync, which covers everything committed before the transaction began. A
// client never reads what a power failure could take back. After a failed
// sync it fails (ErrSyncFailed).
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	if s.wal != nil {
		if err := s.wal.broken(); err != nil {
			return err
		}
		if s.unsynced.Load() > 0 {
			if err := s.wal.sync(false); errors.Is(err, ErrSyncFailed) {
				return err
			}
		}
	}
	return fn(txn)
}

// readMeta checks the schema version (writing it in a new database) and
// loads the message id counter.
func (s *Store) readMeta(txn *badger.Txn, write bool) error {
	v, err := getUint64(txn, keySchema)
	switch {
	case errors.Is(err, ErrNotFound) && !write:
	case errors.Is(err, ErrNotFound):
		if err := txn.Set(keySchema, appendUint64(nil, schemaVersion)); err != nil {
			return err
		}
	case err != nil:
		return err
	case v == 1 && !write:
		// A read-only copy is not upgraded: its rooms, without a kind,
		// read as public, and it has no members.
	case v != schemaVersion:
		return fmt.Errorf("persistence: schema version %d, this build reads %d", v, schemaVersion)
	}
	maxID, err := getUint64(txn, keyMaxMessageID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.nextID.Store(int64(maxID))
	return nil
}

// Close closes the database. Close the Writer first.
func (s *Store) Close() error {
	if s.space != nil {
		s.space.close()
	}
	// Compactions drop a replaced version (a deleted message's text) only
	// below the oldest read in progress, which Badger advances as reads
	// begin: one read after the last write lets the compaction on close
	// drop everything the last writes replaced.
	_ = s.db.View(func(*badger.Txn) error { return nil })
	if s.mapped != nil {
		s.mapped.close()
	}
	err := s.db.Close()
	s.wal.close()
	if err != nil {
		return fmt.Errorf("close badger: %w", err)
	}
	return nil
}

// Secret returns the token signing secret kept in the database, creating a
// random one on first use (on a replica, the first one the cluster's log
// holds).
func (s *Store) Secret() ([]byte, error) {
	var secret []byte
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keySecret)
		if err == nil {
			secret, err = item.ValueCopy(nil)
		}
		return err
	})
	if err == nil {
		return secret, nil
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("persistence: secret: %w", err)
	}
	if err := s.space.admit(smallRecord, true); err != nil {
		return nil, fmt.Errorf("persistence: secret: %w", err)
	}
	fresh, err := newSecret()
	if err != nil {
		return nil, fmt.Errorf("persistence: secret: %w", err)
	}
	if s.repl != nil {
		v, err := s.propose("persistence: secret", &pb.Command{Op: &pb.Command_InitSecret{InitSecret: fresh}})
		if err != nil {
			return nil, err
		}
		return v.([]byte), nil
	}
	if secret, err = s.initSecret(fresh); err != nil {
		return nil, fmt.Errorf("persistence: secret: %w", err)
	}
	return secret, nil
}

// initSecret stores fresh as the secret unless one is stored, and returns
// the stored one.
func (s *Store) initSecret(fresh []byte) ([]byte, error) {
	var secret []byte
	err := s.update(func(txn *badger.Txn) error {
		item, err := txn.Get(keySecret)
		if err == nil {
			secret, err = item.ValueCopy(nil)
			return err
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		secret = fresh
		return txn.Set(keySecret, secret)
	})
	return secret, err
}

// RevokeToken records that the token with this jti may no longer be used.
// The record expires with the token.
func (s *Store) RevokeToken(jti string, expires time.Time) error {
	ttl := time.Until(expires)
	if ttl <= 0 {
		return nil
	}
	if err := s.space.admit(smallRecord, true); err != nil {
		return err
	}
	if s.repl != nil {
		_, err := s.propose("revoke token", &pb.Command{Op: &pb.Command_Revoke{Revoke: &pb.Revoke{Jti: jti, ExpiresUs: expires.UnixMicro()}}})
		return err
	}
	return s.revokeLocal(jti, expires)
}

// revokeLocal stores a revocation that expires with its token.
func (s *Store) revokeLocal(jti string, expires time.Time) error {
	ttl := time.Until(expires)
	if ttl <= 0 {
		return nil
	}
	return s.update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(revokedKey(jti), []byte{1}).WithTTL(ttl))
	})
}

// IsRevoked reports whether RevokeToken was called for jti.
func (s *Store) IsRevoked(jti string) (bool, error) {
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(revokedKey(jti))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// nextCounter increments the counter at key inside txn and returns its new value.
func nextCounter(txn *badger.Txn, key []byte) (int64, error) {
	v, err := getUint64(txn, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	v++
	return int64(v), txn.Set(key, appendUint64(nil, v))
}

func getUint64(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	var v uint64
	err = item.Value(func(b []byte) error { v = decodeUint64(b); return nil })
	return v, err
}

// getProto reads key into m; ErrNotFound when absent.
func getProto(txn *badger.Txn, key []byte, m proto.Message) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error { return proto.Unmarshal(b, m) })
}

func setProto(txn *badger.Txn, key []byte, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

// update runs fn in a read-write transaction, retrying on Badger conflicts so
// that concurrent writers serialize instead of failing.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	stamped := func(txn *badger.Txn) error {
		if err := fn(txn); err != nil {
			return err
		}
		return s.applying.stamp(txn)
	}
	for attempt := 0; ; attempt++ {
		err := s.write(func() error { return s.db.Update(stamped) })
		if !errors.Is(err, badger.ErrConflict) || attempt >= 100 {
			return err
		}
	}
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(string, ...any)  {}
func (b badgerLogger) Debugf(string, ...any) {}
