package persistence

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// AppliedRecord is what applying one record of a room's log decided.
type AppliedRecord struct {
	Change Change
	// Message is the message as stored: a new one with the id, seq and rev
	// the log gave it, a changed one in its new state, or for a duplicate
	// the original.
	Message *pb.Message
	// Duplicate is a new message whose client_id its sender had used in
	// the room before: nothing was stored.
	Duplicate bool
}

// LogObserver is told, in log order and from the goroutine that applies
// the log, what applied commands changed that running rooms must know:
// the records every node appended, and membership changes. It must not
// block.
type LogObserver interface {
	RecordsApplied(room int64, recs []AppliedRecord)
	MembersChanged(room int64)
	// UserChanged is an account as an update left it.
	UserChanged(u *pb.User)
	// MembershipsChanged says a command of another node made users
	// members of room (began) or ended their membership (ended); the
	// node that proposed it announces it itself.
	MembershipsChanged(room int64, began, ended []int64)
	// MarkersMoved is the read markers a command of another node moved
	// or left (Moved false, or Seq -1 for a user who is not a member).
	MarkersMoved(moves []ReadMarker)
}

// ObserveLog makes o the store's log observer (cluster mode). Call it
// before the replica applies the log.
func (s *Store) ObserveLog(o LogObserver) { s.observer.p.Store(&o) }

// observerBox holds the log observer: set once while the log is applied.
type observerBox struct{ p atomic.Pointer[LogObserver] }

func (b *observerBox) get() LogObserver {
	if o := b.p.Load(); o != nil {
		return *o
	}
	return nil
}

// BetweenApplies runs f while no command of the log is between its write
// and the observer's calls for it: every change f reads from the store,
// the observer has been told of, and every change f does not see, it will
// be told of after f returns. A room starting on this node registers for
// the observer's calls this way, so it knows which messages the node
// already announced without it.
func (s *Store) BetweenApplies(f func()) {
	s.told.Lock()
	defer s.told.Unlock()
	f()
}

// Replicated reports a store whose writes go through a cluster's log.
func (s *Store) Replicated() bool { return s.repl != nil }

// ProposeRecords appends recs, in order, to their rooms' logs through the
// cluster as one command (the replicated counterpart of
// Writer.AppendRecords) and returns at once; done is called, from another
// goroutine, with what applying each decided once this node has applied
// them, or with the error that prevented them all: the command is applied
// whole or not at all. A new message needs no id, seq or rev; a change
// needs its message's room and seq and the changed fields.
func (s *Store) ProposeRecords(recs []Record, done func([]AppliedRecord, error)) {
	lrs := make([]*pb.LogRecord, len(recs))
	for i, rec := range recs {
		lrs[i] = &pb.LogRecord{Change: uint32(rec.Change), Message: rec.Message}
	}
	cmd := &pb.Command{Op: &pb.Command_Append{Append: &pb.Append{Records: lrs}}}
	go func() {
		v, err := s.propose("append", cmd)
		if err != nil {
			done(nil, err)
			return
		}
		done(v.([]AppliedRecord), nil)
	}()
}

// ProposeRecord is ProposeRecords for one record.
func (s *Store) ProposeRecord(rec Record, done func(AppliedRecord, error)) {
	s.ProposeRecords([]Record{rec}, func(a []AppliedRecord, err error) {
		if err != nil {
			done(AppliedRecord{}, err)
			return
		}
		done(a[0], nil)
	})
}

// appendLocal applies an Append command: the records, in order, in one
// transaction. A change to a message that is not stored, or an edit of a
// tombstone, refuses the whole command.
func (s *Store) appendLocal(recs []*pb.LogRecord) ([]AppliedRecord, error) {
	var out []AppliedRecord
	var ids []storedClientID
	var maxID int64
	err := s.update(func(txn *badger.Txn) error {
		out, ids, maxID = out[:0], ids[:0], s.nextID.Load()
		heads := map[int64]*logHead{}
		for _, lr := range recs {
			h, err := headOf(txn, heads, lr.Message.Room)
			if err != nil {
				return err
			}
			var a AppliedRecord
			if Change(lr.Change) == Created {
				a, err = appendCreated(txn, h, lr.Message, &maxID)
				if m := a.Message; err == nil && !a.Duplicate && m.ClientId != "" {
					ids = append(ids, storedClientID{m.Room, clientIDKey(m.Room, m.SenderId, m.ClientId)})
				}
			} else {
				a, err = appendChanged(txn, h, Change(lr.Change), lr.Message)
			}
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return txn.Set(keyMaxMessageID, appendUint64(nil, uint64(maxID)))
	})
	if err != nil {
		return nil, err
	}
	s.nextID.Store(maxID)
	s.clientIDs.stored(ids)
	if o := s.observer.get(); o != nil {
		for i := 0; i < len(out); {
			j := i + 1
			for j < len(out) && out[j].Message.Room == out[i].Message.Room {
				j++
			}
			o.RecordsApplied(out[i].Message.Room, out[i:j:j])
			i = j
		}
	}
	return out, nil
}

// logHead is a room's last seq and rev inside an applying transaction.
type logHead struct{ seq, rev int64 }

func headOf(txn *badger.Txn, heads map[int64]*logHead, room int64) (*logHead, error) {
	if h, ok := heads[room]; ok {
		return h, nil
	}
	rev, err := lastRev(txn, room)
	if err != nil {
		return nil, fmt.Errorf("append: %w", err)
	}
	h := &logHead{seq: lastSeq(txn, room), rev: rev}
	heads[room] = h
	return h, nil
}

// appendCreated stores a new message with the room's next seq and rev and
// the next id, unless its client_id was used before.
func appendCreated(txn *badger.Txn, h *logHead, in *pb.Message, maxID *int64) (AppliedRecord, error) {
	if in.ClientId != "" {
		seq, err := getUint64(txn, clientIDKey(in.Room, in.SenderId, in.ClientId))
		switch {
		case err == nil:
			orig := &pb.Message{}
			if err := getProto(txn, MessageKey(in.Room, int64(seq)), orig); err != nil {
				return AppliedRecord{}, fmt.Errorf("append: read original: %w", err)
			}
			return AppliedRecord{Change: Created, Message: normalizeMessage(orig), Duplicate: true}, nil
		case !errors.Is(err, ErrNotFound):
			return AppliedRecord{}, fmt.Errorf("append: read client id: %w", err)
		}
	}
	m := proto.Clone(in).(*pb.Message)
	h.seq++
	h.rev++
	*maxID++
	m.Id, m.Seq, m.Rev, m.CreatedRev = *maxID, h.seq, h.rev, h.rev
	v, err := proto.Marshal(m)
	if err != nil {
		return AppliedRecord{}, fmt.Errorf("append: encode: %w", err)
	}
	if err := txn.Set(MessageKey(m.Room, m.Seq), v); err != nil {
		return AppliedRecord{}, fmt.Errorf("append: write message: %w", err)
	}
	if m.ClientId != "" {
		if err := txn.Set(clientIDKey(m.Room, m.SenderId, m.ClientId), appendUint64(nil, uint64(m.Seq))); err != nil {
			return AppliedRecord{}, fmt.Errorf("append: write client id: %w", err)
		}
	}
	if err := txn.Set(messageIDKey(m.Id), messageLocation(m.Room, m.Seq)); err != nil {
		return AppliedRecord{}, fmt.Errorf("append: write message id index: %w", err)
	}
	return AppliedRecord{Change: Created, Message: m}, nil
}

// appendChanged edits or deletes a stored message, giving it the room's
// next rev.
func appendChanged(txn *badger.Txn, h *logHead, change Change, in *pb.Message) (AppliedRecord, error) {
	cur := &pb.Message{}
	if err := getProto(txn, MessageKey(in.Room, in.Seq), cur); err != nil {
		return AppliedRecord{}, fmt.Errorf("change message %d: %w", in.Seq, err)
	}
	cur = normalizeMessage(cur)
	if cur.DeletedAtUs != 0 {
		return AppliedRecord{}, fmt.Errorf("change message %d: %w", in.Seq, ErrMessageDeleted)
	}
	next := proto.Clone(cur).(*pb.Message)
	h.rev++
	next.Rev = h.rev
	if change == Deleted {
		next.Text, next.DeletedAtUs, next.DeletedBy = "", in.DeletedAtUs, in.DeletedBy
	} else {
		next.Text, next.EditedAtUs = in.Text, in.EditedAtUs
	}
	v, err := proto.Marshal(next)
	if err != nil {
		return AppliedRecord{}, fmt.Errorf("change: encode: %w", err)
	}
	if err := txn.Set(MessageKey(next.Room, next.Seq), v); err != nil {
		return AppliedRecord{}, fmt.Errorf("change: write message: %w", err)
	}
	if err := fillChanged(txn, Record{Change: change, Message: next, PrevRev: cur.Rev}); err != nil {
		return AppliedRecord{}, err
	}
	if err := txn.Set(roomRevKey(next.Room), appendUint64(nil, uint64(next.Rev))); err != nil {
		return AppliedRecord{}, fmt.Errorf("change: write room rev: %w", err)
	}
	return AppliedRecord{Change: change, Message: next}, nil
}
