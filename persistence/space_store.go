package persistence

import "github.com/dgraph-io/badger/v4"

// Estimated bytes a write adds to the write-ahead log, for the reserve:
// generous, since an estimate too low lets a write eat into the reserve.
const (
	smallRecord     = 256  // a revoked token, the secret
	accountRecord   = 1024 // a user or room with its index keys
	messageOverhead = 512  // a message's keys, sender fields, id counter, log framing
)

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
