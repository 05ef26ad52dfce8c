package actors

// Sink is where a session's outgoing frames go: the connection's outbound
// queue. Package api implements it over a WebSocket.
type Sink interface {
	// Send queues frame and returns at once. The frame's bytes are shared
	// with other sinks and must not be modified. It returns false when the
	// sink is closed or over its byte limit (the sink then closes itself as a
	// slow consumer).
	Send(frame []byte) bool
	// SendLater is Send for a broadcast to many sinks: the sink never
	// writes the frame on the caller's goroutine, so a big room's writes
	// do not queue one after another on its actor.
	SendLater(frame []byte) bool
	// SendDroppable queues an optional frame (typing, receipts) like Send,
	// but skips it, without closing anything, when more than half of the
	// sink's byte limit is unsent: optional frames are the first thing
	// dropped under pressure. It returns whether the frame was queued.
	SendDroppable(frame []byte) bool
	// SendBacklog queues frames of a reconnect backlog, waiting (outside any
	// actor) while the queue is full. It returns false if the sink closed.
	SendBacklog(frames [][]byte) bool
	// Close closes the connection with a WebSocket close code and a short
	// reason. It is idempotent.
	Close(code int, reason string)
}

// Close codes used by the actors.
const (
	// CloseGoingAway is sent to every socket when the server shuts down.
	CloseGoingAway = 1001
	// ClosePolicy is sent to a client that floods or keeps sending bad frames.
	ClosePolicy = 1008
	// CloseInternal is sent when the room behind a socket crashed; clients
	// reconnect with since= and lose nothing.
	CloseInternal = 1011
	// CloseTokenExpired is sent when the access token a socket acts under
	// expired without an auth.refresh; clients reconnect with a new token
	// and since.
	CloseTokenExpired = 4001
	// CloseTryAgainLater is sent to a socket opened past the server's
	// socket cap (a race the handshake's 503 did not catch).
	CloseTryAgainLater = 1013
	// CloseRemoved is sent to a user's sockets on a private or direct room
	// when the user stops being a member.
	CloseRemoved = 4004
	// CloseSlowConsumer is sent to a client whose outbound queue overflowed.
	CloseSlowConsumer = 4008
)
