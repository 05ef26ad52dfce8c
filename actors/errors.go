package actors

import (
	"errors"

	"livechat/persistence"
)

// Error codes carried in actor replies (pb.Posted, pb.RoomState, pb.UserResult).
const (
	CodeNotFound    = "ENOTFOUND"
	CodeConflict    = "ECONFLICT"
	CodeUnavailable = "EUNAVAILABLE"
	CodeStorageFull = "ESTORAGEFULL"
	// CodeForbidden refuses a post from a user who is not a member of a
	// private or direct room.
	CodeForbidden = "EFORBIDDEN"
	CodeDeleted   = "EDELETED" // a tombstone cannot be edited
)

// error_type values of chat.error frames.
const (
	ErrorInvalid     = "invalid_request"
	ErrorUnavailable = "unavailable"
	// ErrorTokenExpired precedes close 4001.
	ErrorTokenExpired = "token_expired"
	// ErrorStorageFull answers a message refused below the storage reserve.
	ErrorStorageFull = "storage_full"
	// ErrorForbidden answers a valid frame this user may not send in this
	// room.
	ErrorForbidden = "forbidden"
)

// Errors returned by Engine.
var (
	// ErrRoomNotFound means the room does not exist.
	ErrRoomNotFound = errors.New("actors: room not found")
	// ErrUnavailable means the request could not be served now (timeout,
	// storage failure, shutdown); it is safe to retry.
	ErrUnavailable = errors.New("actors: unavailable")
	// ErrStorageFull means the store refused a write because its volume is
	// full; reads still work and writes resume when space is freed. It is
	// persistence.ErrStorageFull, so one errors.Is test covers both layers.
	ErrStorageFull = persistence.ErrStorageFull
	// ErrMessageDeleted means an edit reached a deleted message.
	ErrMessageDeleted = errors.New("actors: message deleted")
)

func codeError(code string) error {
	switch code {
	case "":
		return nil
	case CodeNotFound, CodeForbidden:
		// A room the user may not post in is not visible to them.
		return ErrRoomNotFound
	case CodeStorageFull:
		return ErrStorageFull
	case CodeDeleted:
		return ErrMessageDeleted
	default:
		return ErrUnavailable
	}
}

// writeCode is the reply code of a failed store write.
func writeCode(err error) string {
	if errors.Is(err, persistence.ErrStorageFull) {
		return CodeStorageFull
	}
	return CodeUnavailable
}
