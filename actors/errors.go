package actors

import "errors"

// Error codes carried in actor replies (pb.Posted, pb.RoomState, pb.UserResult).
const (
	CodeNotFound    = "ENOTFOUND"
	CodeConflict    = "ECONFLICT"
	CodeUnavailable = "EUNAVAILABLE"
)

// error_type values of chat.error frames.
const (
	ErrorInvalid     = "invalid_request"
	ErrorUnavailable = "unavailable"
	// ErrorTokenExpired precedes close 4001.
	ErrorTokenExpired = "token_expired"
)

// Errors returned by Engine.
var (
	// ErrRoomNotFound means the room does not exist.
	ErrRoomNotFound = errors.New("actors: room not found")
	// ErrUnavailable means the request could not be served now (timeout,
	// storage failure, shutdown); it is safe to retry.
	ErrUnavailable = errors.New("actors: unavailable")
)

func codeError(code string) error {
	switch code {
	case "":
		return nil
	case CodeNotFound:
		return ErrRoomNotFound
	default:
		return ErrUnavailable
	}
}
