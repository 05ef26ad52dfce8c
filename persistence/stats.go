package persistence

import "time"

// WriterObserver is told what the Writer's appends and commits cost, for
// metrics. Its methods are called from the writer's own goroutines, once
// per Append and once per transaction: they must be cheap and never block.
type WriterObserver interface {
	// Appended reports one Append of messages, from the call to its
	// confirmation: queueing, encoding, the commit and the wait for earlier
	// transactions.
	Appended(d time.Duration)
	// Committed reports one transaction of messages handed to Badger, from
	// the hand-off to Badger's callback: the write and, under
	// DurabilityFsync, the fsync that makes it durable.
	Committed(d time.Duration, messages int)
}

// Sizes returns the bytes Badger's files take on disk: the LSM tree and
// the value log (both zero in memory). Badger refreshes them every minute.
func (s *Store) Sizes() (lsm, vlog int64) { return s.db.Size() }
