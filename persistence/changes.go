package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// Keys of message changes and of the message id index (see keys.go's
// layout):
//
//	mi/<id>          → room, seq (16 bytes): where message id is
//	rv/<room>        → the room's last rev as of its latest edit or deletion
//	                   (a new message carries its own: LastRev reads the newest)
//	mr/<room>/<rev>  → seq: the latest change of a message edited or deleted
//	                   since its creation (one key per such message)
//	md/<room>/<seq>  → empty: the message is a tombstone
var (
	prefixMessageID  = []byte("mi/")
	prefixRoomRev    = []byte("rv/")
	prefixChange     = []byte("mr/")
	prefixDeleted    = []byte("md/")
	keyMessageIDDone = []byte("meta/index/message-id") // mi/ holds every stored message
)

func messageIDKey(id int64) []byte { return idKey(prefixMessageID, id, 0) }
func roomRevKey(room int64) []byte { return idKey(prefixRoomRev, room, 0) }

// roomPairKey is prefix + room + '/' + n.
func roomPairKey(prefix []byte, room, n int64) []byte {
	return appendUint64(append(idKey(prefix, room, 9), '/'), uint64(n))
}

// roomPairPrefix is prefix + room + '/'.
func roomPairPrefix(prefix []byte, room int64) []byte {
	return append(idKey(prefix, room, 1), '/')
}

func changeKey(room, rev int64) []byte  { return roomPairKey(prefixChange, room, rev) }
func deletedKey(room, seq int64) []byte { return roomPairKey(prefixDeleted, room, seq) }

// lastUint64 reads the trailing big-endian integer of a roomPairKey.
func lastUint64(k []byte) int64 {
	if len(k) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[len(k)-8:]))
}

func messageLocation(room, seq int64) []byte {
	return appendUint64(appendUint64(make([]byte, 0, 16), uint64(room)), uint64(seq))
}

// normalizeMessage gives a message stored before rooms counted changes the
// rev it counts as: each such message was one change, its creation, and
// the room's counter starts past them (LastRev), so rev = seq.
func normalizeMessage(m *pb.Message) *pb.Message {
	if m.Rev == 0 {
		m.Rev = m.Seq
	}
	if m.CreatedRev == 0 {
		m.CreatedRev = m.Seq
	}
	return m
}

// Message returns message seq of room in its current state, or ErrNotFound.
func (s *Store) Message(room, seq int64) (*pb.Message, error) {
	m := &pb.Message{}
	err := s.view(func(txn *badger.Txn) error { return getProto(txn, MessageKey(room, seq), m) })
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("message %d/%d: %w", room, seq, err)
	}
	return normalizeMessage(m), nil
}

// MessageByID returns the message with id in its current state, or
// ErrNotFound.
func (s *Store) MessageByID(id int64) (*pb.Message, error) {
	return caughtUp(s, func() (*pb.Message, error) { return s.messageByID(id) })
}

func (s *Store) messageByID(id int64) (*pb.Message, error) {
	m := &pb.Message{}
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(messageIDKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var room, seq int64
		err = item.Value(func(b []byte) error {
			if len(b) != 16 {
				return fmt.Errorf("persistence: bad message location for id %d", id)
			}
			room, seq = int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
			return nil
		})
		if err != nil {
			return err
		}
		return getProto(txn, MessageKey(room, seq), m)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", id, err)
	}
	return normalizeMessage(m), nil
}

// LastRev returns the room's last rev: the highest of its stored counter,
// its newest message's creation and its latest change. Rooms stored before
// changes were counted start at their last seq.
func (s *Store) LastRev(room int64) (int64, error) {
	var rev int64
	err := s.view(func(txn *badger.Txn) (err error) {
		rev, err = lastRev(txn, room)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("last rev of room %d: %w", room, err)
	}
	return rev, nil
}

func lastRev(txn *badger.Txn, room int64) (int64, error) {
	v, err := getUint64(txn, roomRevKey(room))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	rev := int64(v)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: roomMessagesPrefix(room), PrefetchValues: false})
	it.Seek(MessageKey(room, int64(maxSeq)))
	if it.Valid() {
		m, err := itemMessage(it.Item())
		if err != nil {
			it.Close()
			return 0, err
		}
		rev = max(rev, m.CreatedRev)
	}
	it.Close()
	it = txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: roomPairPrefix(prefixChange, room), PrefetchValues: false})
	defer it.Close()
	it.Seek(changeKey(room, int64(maxSeq)))
	if it.Valid() {
		rev = max(rev, lastUint64(it.Item().Key()))
	}
	return rev, nil
}

// ChangesAfter returns, in change order, the current state of up to limit
// messages with seq <= maxSeq whose latest change (an edit or a deletion)
// has a rev in (afterRev, upToRev]: what a client that read up to message
// maxSeq, stored at afterRev, has missed about older messages.
func (s *Store) ChangesAfter(room, afterRev, upToRev, maxSeq int64, limit int) ([]*pb.Message, error) {
	var msgs []*pb.Message
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: roomPairPrefix(prefixChange, room), PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		for it.Seek(changeKey(room, afterRev+1)); it.Valid() && len(msgs) < limit; it.Next() {
			if lastUint64(it.Item().Key()) > upToRev {
				break
			}
			var seq int64
			if err := it.Item().Value(func(b []byte) error { seq = int64(decodeUint64(b)); return nil }); err != nil {
				return err
			}
			if seq > maxSeq {
				continue
			}
			m := &pb.Message{}
			if err := getProto(txn, MessageKey(room, seq), m); err != nil {
				return err
			}
			msgs = append(msgs, normalizeMessage(m))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes of room %d: %w", room, err)
	}
	return msgs, nil
}

// DeletedAfter counts the tombstones of room with seq > after: unread
// counts subtract them.
func (s *Store) DeletedAfter(room, after int64) (int64, error) {
	var n int64
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: roomPairPrefix(prefixDeleted, room), PrefetchValues: false})
		defer it.Close()
		for it.Seek(deletedKey(room, after+1)); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deleted messages of room %d: %w", room, err)
	}
	return n, nil
}

// indexMessageIDs writes mi/ for every message stored before the index
// existed, once: afterwards the writer keeps it with every message.
func (s *Store) indexMessageIDs() error {
	done := false
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(keyMessageIDDone)
		done = err == nil
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil || done {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixMessage, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			room, seq, ok := ParseMessageKey(it.Item().Key())
			if !ok {
				continue
			}
			m, err := itemMessage(it.Item())
			if err != nil {
				return err
			}
			if err := wb.Set(messageIDKey(m.Id), messageLocation(room, seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Set(keyMessageIDDone, []byte{1})
	}
	if err == nil {
		err = s.write(wb.Flush)
	}
	if err != nil {
		return fmt.Errorf("persistence: index message ids: %w", err)
	}
	return nil
}
