package persistence

import (
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	// MaxBatch is the most messages committed in one transaction. Default 4096:
	// large enough to amortise an fsync over thousands of messages, small
	// enough to stay far below Badger's transaction size limit.
	MaxBatch int
	// Observer is told each Append's and each transaction's latency.
	// Default none.
	Observer WriterObserver
	// Gather applies under fsync durability on disk: when the writer is
	// busy (its last transaction was handed over less than Gather ago)
	// and nothing is in flight, a transaction waits until gatherRequests
	// appends are queued or Gather has passed since the oldest came, so
	// that they share one disk sync. A quiet server never waits. Default
	// 0: never.
	Gather time.Duration
}

// gatherRequests is how many queued appends end a gathering wait: a
// quarter of the syncs, for a wait of three arrivals at most.
const gatherRequests = 4

// Writer group-commits chat messages: every Append encodes its messages on
// the caller's goroutine (many rooms encode in parallel) and waits in a
// queue; one goroutine turns everything queued into one transaction and
// hands it to Badger; under DurabilityFsync the transactions that commit
// together share one sync of Badger's files (walSync). Each Append's done function is
// called once its transaction is durable, strictly in Append order, by
// whichever goroutine completes the transaction that lets it go (see
// finished). Up to maxInflight transactions are in flight, so encoding the
// next batch overlaps the disk flush of the previous one; a batch with
// nothing queued behind it and nothing in flight is committed on the
// writer's goroutine instead, which saves a quiet room's message two
// goroutine hand-offs (Badger's callback goroutine and the hop back).
// Messages that come one at a time in quick succession would each get
// such a transaction and a sync of their own; WriterConfig.Gather lets
// them wait a moment for each other.
type Writer struct {
	store    *Store
	maxBatch int
	maxBytes int64          // bytes of messages in one transaction at most
	observer WriterObserver // nil: nothing observed

	maxID int64 // highest message id committed; owned by the loop goroutine
	// refused is, per room, the lowest seq refused for a full volume; owned
	// by the loop goroutine (see gapGuard).
	refused map[int64]int64

	mu      sync.Mutex
	queue   []appendReq
	closed  bool
	wake    chan struct{}
	stopped chan struct{}

	inflight chan struct{} // a slot per transaction being committed
	gather   time.Duration // WriterConfig.Gather; 0 without a disk sync to share
	// handed is when the loop last handed a transaction over (an inline
	// one: once durable); under mu.
	handed time.Time

	// order confirms finished transactions in index order.
	order struct {
		sync.Mutex
		next  uint64                 // the index of the next transaction to confirm
		early map[uint64]*batchState // finished before an earlier one
	}
}

// maxInflight bounds transactions committed at once: enough to keep the
// disk busy while the next batch is encoded, few enough that a failing
// disk is noticed within a few batches.
const maxInflight = 4

// batchState is one transaction's requests and outcome.
type batchState struct {
	index     uint64
	reqs      []appendReq
	clientIDs []storedClientID // the client_id keys the batch writes, for the client_id memory
	err       error
}

type appendReq struct {
	recs []Record
	vals [][]byte // the records' messages encoded, by the caller: off the writer's serial path
	done func(error)
	at   time.Time // when Append was called
	err  error     // refused on its own, before its batch was written
}

// NewWriter starts a writer for s. Close it before closing the store.
func (s *Store) NewWriter(cfg WriterConfig) *Writer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	// Badger refuses a transaction past its size limits, which follow the
	// memtable size the memory budget chose.
	cfg.MaxBatch = max(1, min(cfg.MaxBatch, s.plan.maxBatchEntries()/entriesPerMessage))
	w := &Writer{store: s, maxBatch: cfg.MaxBatch, maxBytes: s.plan.maxBatchBytes(), observer: cfg.Observer, maxID: s.nextID.Load(), wake: make(chan struct{}, 1), stopped: make(chan struct{}),
		inflight: make(chan struct{}, maxInflight)}
	w.order.early = make(map[uint64]*batchState)
	if s.wal != nil {
		w.gather = max(cfg.Gather, 0)
	}
	go w.loop()
	return w
}

// Append queues new messages for the next batch and returns at once. done
// is called from the writer goroutine once they are durable, or with the
// error that prevented it; it must not block.
func (w *Writer) Append(msgs []*pb.Message, done func(error)) {
	var recs []Record
	if len(msgs) > 0 {
		recs = make([]Record, len(msgs))
		for i, m := range msgs {
			recs[i] = Record{Message: m}
		}
	}
	w.AppendRecords(recs, done)
}

// AppendRecords queues a room's log records, in its rev order, for the
// next batch, like Append. Records of one room must be appended in rev
// order: they are written, and confirmed, in append order.
func (w *Writer) AppendRecords(recs []Record, done func(error)) {
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		v, err := proto.Marshal(r.Message)
		if err != nil {
			done(fmt.Errorf("encode message: %w", err))
			return
		}
		vals[i] = v
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		done(ErrClosed)
		return
	}
	w.queue = append(w.queue, appendReq{recs: recs, vals: vals, done: done, at: time.Now()})
	// Under mu: Close closes wake under it, and a send on a closed
	// channel panics.
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.mu.Unlock()
}

// Close commits everything queued, then stops the writer.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.wake)
	}
	w.mu.Unlock()
	<-w.stopped
}

func (w *Writer) loop() {
	defer func() {
		for range maxInflight { // wait for every transaction in flight
			w.inflight <- struct{}{}
		}
		close(w.stopped)
	}()
	var index uint64
	gatherTimer := time.NewTimer(time.Hour)
	gatherTimer.Stop()
	for {
		w.mu.Lock()
		if wait := w.gatherWait(); wait > 0 {
			w.mu.Unlock()
			gatherTimer.Reset(wait)
			select {
			case <-w.wake:
			case <-gatherTimer.C:
			}
			gatherTimer.Stop()
			continue
		}
		var batch []appendReq
		batch, w.queue = w.take(nil)
		alone := len(w.queue) == 0
		closed := w.closed
		w.mu.Unlock()
		if len(batch) > 0 {
			w.inflight <- struct{}{}
			st := &batchState{index: index, reqs: batch}
			index++
			// Alone: nothing waits to be encoded behind it and nothing is
			// in flight to overlap with, so waiting here costs nothing.
			w.commit(st, alone && len(w.inflight) == 1)
			if w.gather > 0 {
				w.mu.Lock()
				w.handed = time.Now()
				w.mu.Unlock()
			}
			continue
		}
		if closed {
			return
		}
		<-w.wake
	}
}

// gatherWait is how long the loop waits for more appends (or until one
// comes) before the next transaction, 0 for not at all (see
// WriterConfig.Gather). Caller holds mu.
func (w *Writer) gatherWait() time.Duration {
	n := len(w.queue)
	if w.gather <= 0 || n == 0 || n >= gatherRequests || w.closed || len(w.inflight) > 0 || time.Since(w.handed) >= w.gather {
		return 0
	}
	return max(time.Until(w.queue[0].at.Add(w.gather)), 0)
}

// finished records st's outcome and confirms, in index order, every
// transaction that no earlier one holds back: Badger may finish
// transactions in any order. done functions run under order's lock, on the
// goroutine that finished the transaction; they must not block.
func (w *Writer) finished(st *batchState) {
	w.order.Lock()
	defer w.order.Unlock()
	w.order.early[st.index] = st
	for {
		st, ok := w.order.early[w.order.next]
		if !ok {
			return
		}
		delete(w.order.early, w.order.next)
		w.order.next++
		w.observeAppends(st)
		for _, r := range st.reqs {
			if r.err != nil {
				r.done(r.err)
			} else {
				r.done(st.err)
			}
		}
	}
}

// take moves up to maxBatch messages' (and maxBytes bytes') worth of
// requests from the queue into batch (always at least one request). Caller
// holds mu.
func (w *Writer) take(batch []appendReq) ([]appendReq, []appendReq) {
	n, count, size := 0, 0, int64(0)
	for n < len(w.queue) {
		r := &w.queue[n]
		rsize := r.size()
		if n > 0 && (count+len(r.recs) > w.maxBatch || size+rsize > w.maxBytes) {
			break
		}
		count += len(r.recs)
		size += rsize
		n++
	}
	batch = append(batch, w.queue[:n]...)
	rest := w.queue[n:]
	if len(rest) == 0 {
		rest = w.queue[:0]
	}
	return batch, rest
}

// commit encodes st's messages into one transaction and sends it to
// Badger, waiting for it when wait is set; its outcome goes to finished.
func (w *Writer) commit(st *batchState, wait bool) {
	finish := func(err error) {
		st.err = err
		w.finished(st)
		<-w.inflight
	}
	if !hasMessages(st.reqs) {
		finish(nil) // an Append(nil) barrier: nothing to write, confirmed in order
		return
	}
	if err := w.store.space.floor(); err != nil {
		w.noteRefused(st.reqs)
		finish(err)
		return
	}
	if err := w.store.SyncFailed(); err != nil {
		finish(err) // nothing reaches Badger after a failed sync
		return
	}
	if !w.gapGuard(st.reqs) {
		finish(nil) // every request refused on its own
		return
	}
	txn := w.store.db.NewTransaction(true)
	if err := w.fill(txn, st); err != nil {
		txn.Discard()
		finish(err)
		return
	}
	began := time.Now()
	w.store.unsynced.Add(1) // see Store.view
	committed := func(err error) {
		if err == nil {
			err = w.store.durable(wait)
		}
		w.store.unsynced.Add(-1)
		w.observeCommit(began, st)
		if err != nil {
			err = fmt.Errorf("commit messages: %w", err)
		} else {
			w.store.clientIDs.stored(st.clientIDs)
		}
		finish(err)
	}
	if wait {
		committed(txn.Commit())
		return
	}
	txn.CommitWith(committed)
}

// entriesPerMessage is how many Badger entries a record may write: a new
// message, its client_id, its id index and its room's rev; or a changed
// message, its old and new change keys and its deletion mark.
const entriesPerMessage = 4

// entryOverhead is what Badger counts for an entry beyond its value: key,
// version and metadata, with room for a client_id key.
const entryOverhead = 64

// size is what r's messages count against Badger's transaction size.
func (r *appendReq) size() int64 {
	n := int64(0)
	for _, v := range r.vals {
		n += int64(len(v)) + entriesPerMessage*entryOverhead
	}
	return n
}

// observeAppends reports the latency of st's appends, barriers excepted.
func (w *Writer) observeAppends(st *batchState) {
	if w.observer == nil {
		return
	}
	now := time.Now()
	for _, r := range st.reqs {
		if len(r.recs) > 0 {
			w.observer.Appended(now.Sub(r.at))
		}
	}
}

// observeCommit reports one transaction's time in Badger.
func (w *Writer) observeCommit(began time.Time, st *batchState) {
	if w.observer == nil {
		return
	}
	n := 0
	for _, r := range st.reqs {
		n += len(r.recs)
	}
	w.observer.Committed(time.Since(began), n)
}

func hasMessages(reqs []appendReq) bool {
	for _, r := range reqs {
		if len(r.recs) > 0 {
			return true
		}
	}
	return false
}

func (w *Writer) fill(txn *badger.Txn, st *batchState) error {
	var revs map[int64]int64 // room → its highest changed rev in this batch
	for _, r := range st.reqs {
		if r.err != nil {
			continue
		}
		for i, rec := range r.recs {
			m := rec.Message
			if err := txn.Set(MessageKey(m.Room, m.Seq), r.vals[i]); err != nil {
				return fmt.Errorf("write message: %w", err)
			}
			if rec.Change == Created {
				// The hot path: the message carries its rev, and LastRev
				// reads the newest message's, so rv/ is not written.
				if err := w.fillCreated(txn, st, m); err != nil {
					return err
				}
				continue
			}
			if err := fillChanged(txn, rec); err != nil {
				return err
			}
			if revs == nil {
				revs = make(map[int64]int64)
			}
			revs[m.Room] = max(revs[m.Room], m.Rev)
		}
	}
	for room, rev := range revs {
		if err := txn.Set(roomRevKey(room), appendUint64(nil, uint64(rev))); err != nil {
			return fmt.Errorf("write room rev: %w", err)
		}
	}
	// Ids are handed out before their batch commits, so batches may commit
	// out of id order: persist the highest id ever committed, never a lower one.
	if err := txn.Set(keyMaxMessageID, appendUint64(nil, uint64(w.maxID))); err != nil {
		return fmt.Errorf("write message id: %w", err)
	}
	return nil
}

// fillCreated writes a new message's indexes: its client_id and its id.
func (w *Writer) fillCreated(txn *badger.Txn, st *batchState, m *pb.Message) error {
	if m.ClientId != "" {
		key := clientIDKey(m.Room, m.SenderId, m.ClientId)
		if err := txn.Set(key, appendUint64(nil, uint64(m.Seq))); err != nil {
			return fmt.Errorf("write client id: %w", err)
		}
		st.clientIDs = append(st.clientIDs, storedClientID{m.Room, key})
	}
	if err := txn.Set(messageIDKey(m.Id), messageLocation(m.Room, m.Seq)); err != nil {
		return fmt.Errorf("write message id index: %w", err)
	}
	w.maxID = max(w.maxID, m.Id)
	return nil
}

// fillChanged moves a changed message's change key to its new rev (one key
// per message: replay sends each change once), and marks a tombstone.
func fillChanged(txn *badger.Txn, rec Record) error {
	m := rec.Message
	if rec.PrevRev != m.CreatedRev {
		if err := txn.Delete(changeKey(m.Room, rec.PrevRev)); err != nil {
			return fmt.Errorf("write change: %w", err)
		}
	}
	if err := txn.Set(changeKey(m.Room, m.Rev), appendUint64(nil, uint64(m.Seq))); err != nil {
		return fmt.Errorf("write change: %w", err)
	}
	if rec.Change == Deleted {
		if err := txn.Set(deletedKey(m.Room, m.Seq), nil); err != nil {
			return fmt.Errorf("write deletion: %w", err)
		}
	}
	return nil
}

// logOrder is a record's place in its room's log: its rev (a message
// appended without one, by a caller that does not count changes, by seq).
func logOrder(m *pb.Message) int64 {
	if m.Rev > 0 {
		return m.Rev
	}
	return m.Seq
}

// noteRefused remembers, per room, the lowest rev of a batch refused for a
// full volume.
func (w *Writer) noteRefused(reqs []appendReq) {
	for _, r := range reqs {
		for _, rec := range r.recs {
			if w.refused == nil {
				w.refused = make(map[int64]int64)
			}
			m := rec.Message
			if low, ok := w.refused[m.Room]; !ok || logOrder(m) < low {
				w.refused[m.Room] = logOrder(m)
			}
		}
	}
}

// gapGuard keeps seq and rev gap-free across a refusal: a room learns that
// its record was refused only later, so records it appended meanwhile, with
// higher revs, are refused too, even if space returned in between. A
// record at or below the refused rev comes from the room restarted from
// what is stored, and ends the guard. It reports whether any request is
// left to write.
func (w *Writer) gapGuard(reqs []appendReq) bool {
	if len(w.refused) == 0 {
		return true
	}
	left := false
	for i := range reqs {
		r := &reqs[i]
		for _, rec := range r.recs {
			m := rec.Message
			low, ok := w.refused[m.Room]
			switch {
			case !ok:
			case logOrder(m) <= low:
				delete(w.refused, m.Room)
			default:
				r.err = ErrStorageFull
			}
		}
		if r.err == nil && len(r.recs) > 0 {
			left = true
		}
	}
	return left
}
