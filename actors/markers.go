package actors

import (
	"sync"
	"time"

	"livechat/persistence"
)

// markerWriter group-commits read-marker moves. Rooms hand it moves and
// never wait: one goroutine writes everything queued in one transaction
// and calls each move's done function, in order, once it is durable. Marker
// writes stay out of the message writer's transactions on purpose: a marker
// is read before it is written (it only moves forward, and only while its
// user is a member), and a conflict with a membership change must never
// fail a batch of messages.
type markerWriter struct {
	store *persistence.Store

	mu        sync.Mutex
	queue     []markerReq
	eager     bool      // some queued move is not lazy
	firstLazy time.Time // when the oldest queued lazy move was queued
	closed    bool
	wake      chan struct{}
	stopped   chan struct{}
}

// markerReq is one move. done receives the move as stored (Seq -1 when
// the user is not a member) and the error that kept it from being stored.
// It counts nothing itself: this goroutine writes every room's markers, and
// a count that walks a room's deleted messages would hold up all of them.
type markerReq struct {
	mv   persistence.ReadMarker
	lazy bool // may wait up to markerHold for company (see move)
	done func(mv persistence.ReadMarker, err error)
}

// markerHold is how long a lazy move may wait to share a transaction. A
// marker moved by a socket post is lazy: nothing waits for it (the post's
// chat.message already says the poster read the room), and with one
// transaction per post every message would cost two disk syncs.
const markerHold = 250 * time.Millisecond

func newMarkerWriter(store *persistence.Store) *markerWriter {
	w := &markerWriter{store: store, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// move queues a marker move and returns at once; done must not block. A
// lazy move is written with the next eager one, or markerHold after it was
// queued, whichever comes first.
func (w *markerWriter) move(mv persistence.ReadMarker, lazy bool, done func(mv persistence.ReadMarker, err error)) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		done(mv, persistence.ErrClosed)
		return
	}
	first := len(w.queue) == 0
	if first {
		w.firstLazy = time.Now()
	}
	w.queue = append(w.queue, markerReq{mv: mv, lazy: lazy, done: done})
	w.eager = w.eager || !lazy
	w.mu.Unlock()
	if !first && lazy {
		// The loop already holds the queue for its oldest move, and this
		// one changes nothing it waits for: waking it for every post would
		// cost each message a thread wake-up and a timer reset.
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// close writes what is queued, then stops the writer.
func (w *markerWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.wake)
	}
	w.mu.Unlock()
	<-w.stopped
}

// markerBatch bounds the moves of one transaction, far below Badger's
// transaction limits.
const markerBatch = 1024

func (w *markerWriter) loop() {
	defer close(w.stopped)
	var moves []persistence.ReadMarker
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	for {
		w.mu.Lock()
		if wait := markerHold - time.Since(w.firstLazy); len(w.queue) > 0 && !w.eager && !w.closed && wait > 0 {
			w.mu.Unlock()
			hold.Reset(wait)
			select {
			case <-w.wake:
			case <-hold.C:
			}
			hold.Stop()
			continue
		}
		n := min(len(w.queue), markerBatch)
		batch := append([]markerReq(nil), w.queue[:n]...)
		w.queue = w.queue[n:]
		w.eager = false
		for _, r := range w.queue {
			w.eager = w.eager || !r.lazy
		}
		closed := w.closed
		w.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			<-w.wake
			continue
		}
		moves = moves[:0]
		for _, r := range batch {
			moves = append(moves, r.mv)
		}
		err := w.store.MoveReadMarkers(moves)
		for i, r := range batch {
			r.done(moves[i], err)
		}
	}
}
