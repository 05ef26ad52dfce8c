package actors

import "sync/atomic"

// stats are the actor system's counters. They are plain atomics, updated
// where the event happens and read by metrics at scrape time, so that the
// actors know nothing of how they are exported.
type stats struct {
	roomsActive                  atomic.Int64
	acceptedEdge, acceptedSocket atomic.Uint64
}

// RoomsActive returns how many room actors are running.
func (e *Engine) RoomsActive() int64 { return e.stats.roomsActive.Load() }

// MessagesAccepted returns how many new messages were stored and
// delivered so far, by where they came from: Post (REST) and sockets.
// Resends answered with their original are not counted.
func (e *Engine) MessagesAccepted() (rest, socket uint64) {
	return e.stats.acceptedEdge.Load(), e.stats.acceptedSocket.Load()
}
