package persistence

import "errors"

// Sentinel errors returned by the store. Callers test them with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("persistence: not found")
	// ErrUnavailable means a replica could not reach its cluster's log:
	// the write may or may not be stored.
	ErrUnavailable = errors.New("persistence: the cluster's log is unavailable")
	// ErrMessageDeleted means a change reached a deleted message.
	ErrMessageDeleted = errors.New("persistence: message deleted")
	// ErrEmailTaken means another account already has that email.
	ErrEmailTaken = errors.New("persistence: email already registered")
	// ErrPostTaken means another room already exists for that post.
	ErrPostTaken = errors.New("persistence: room for post exists")
	// ErrClosed means the store or writer has been closed.
	ErrClosed = errors.New("persistence: closed")
	// ErrStorageFull means the data volume has less free space than the
	// reserve (or the store was opened read-only on a full volume): the
	// write was refused before reaching the database.
	ErrStorageFull = errors.New("persistence: storage full")
	// ErrSyncFailed means a disk sync failed under fsync durability: what
	// the kernel was to write may be lost, so the store refuses every
	// write and read from then on. Restart the server; it replays what is
	// on disk.
	ErrSyncFailed = errors.New("persistence: a disk sync failed; restart the server")
)
