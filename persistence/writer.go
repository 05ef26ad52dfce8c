package persistence

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	// MaxBatch is the most messages committed in one transaction. Default 4096:
	// large enough to amortise an fsync over thousands of messages, small
	// enough to stay far below Badger's transaction size limit.
	MaxBatch int
}

// Writer group-commits chat messages: every Append waits in a queue, one
// goroutine commits everything queued in one transaction (one fsync under
// DurabilityFsync) and then calls each Append's done function, in Append
// order. While a batch commits, the next one gathers, so the batch size
// grows with the load.
type Writer struct {
	store    *Store
	maxBatch int

	maxID int64 // highest message id committed; owned by the loop goroutine

	mu      sync.Mutex
	queue   []appendReq
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
}

type appendReq struct {
	msgs []*pb.Message
	done func(error)
}

// NewWriter starts a writer for s. Close it before closing the store.
func (s *Store) NewWriter(cfg WriterConfig) *Writer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	w := &Writer{store: s, maxBatch: cfg.MaxBatch, maxID: s.nextID.Load(), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// Append queues msgs for the next batch and returns at once. done is called
// from the writer goroutine once they are durable, or with the error that
// prevented it; it must not block.
func (w *Writer) Append(msgs []*pb.Message, done func(error)) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		done(ErrClosed)
		return
	}
	w.queue = append(w.queue, appendReq{msgs: msgs, done: done})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
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
	defer close(w.stopped)
	var batch []appendReq
	for {
		w.mu.Lock()
		batch, w.queue = w.take(batch[:0])
		closed := w.closed
		w.mu.Unlock()
		if len(batch) > 0 {
			err := w.commit(batch)
			for _, r := range batch {
				r.done(err)
			}
			clear(batch)
			continue
		}
		if closed {
			return
		}
		<-w.wake
	}
}

// take moves up to maxBatch messages' worth of requests from the queue into
// batch (always at least one request). Caller holds mu.
func (w *Writer) take(batch []appendReq) ([]appendReq, []appendReq) {
	n, count := 0, 0
	for n < len(w.queue) && (n == 0 || count+len(w.queue[n].msgs) <= w.maxBatch) {
		count += len(w.queue[n].msgs)
		n++
	}
	batch = append(batch, w.queue[:n]...)
	rest := w.queue[n:]
	if len(rest) == 0 {
		rest = w.queue[:0]
	}
	return batch, rest
}

func (w *Writer) commit(batch []appendReq) error {
	txn := w.store.db.NewTransaction(true)
	defer txn.Discard()
	var buf []byte
	for _, r := range batch {
		for _, m := range r.msgs {
			var err error
			buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], m)
			if err != nil {
				return fmt.Errorf("encode message: %w", err)
			}
			if err := txn.Set(MessageKey(m.Room, m.Seq), append([]byte(nil), buf...)); err != nil {
				return fmt.Errorf("write message: %w", err)
			}
			if m.ClientId != "" {
				if err := txn.Set(clientIDKey(m.Room, m.SenderId, m.ClientId), appendUint64(nil, uint64(m.Seq))); err != nil {
					return fmt.Errorf("write client id: %w", err)
				}
			}
			w.maxID = max(w.maxID, m.Id)
		}
	}
	// Ids are handed out before their batch commits, so batches may commit
	// out of id order: persist the highest id ever committed, never a lower one.
	if err := txn.Set(keyMaxMessageID, appendUint64(nil, uint64(w.maxID))); err != nil {
		return fmt.Errorf("write message id: %w", err)
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("commit messages: %w", err)
	}
	return nil
}
