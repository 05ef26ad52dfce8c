package persistence

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

func unmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

// NextMessageID hands out a new message id. Ids increase for the life of the
// database; the writer persists the highest one with every batch.
func (s *Store) NextMessageID() int64 { return s.nextID.Add(1) }

// LastSeq returns the highest seq stored in room, 0 when it has none.
func (s *Store) LastSeq(room int64) (int64, error) {
	var seq int64
	err := s.view(func(txn *badger.Txn) error {
		seq = lastSeq(txn, room)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("last seq of room %d: %w", room, err)
	}
	return seq, nil
}

func lastSeq(txn *badger.Txn, room int64) int64 {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: roomMessagesPrefix(room)})
	defer it.Close()
	it.Seek(MessageKey(room, int64(maxSeq)))
	if !it.Valid() {
		return 0
	}
	_, seq, _ := ParseMessageKey(it.Item().Key())
	return seq
}

// MessagesBefore returns up to limit messages of room with seq < before,
// the newest ones, oldest first. before <= 0 means no upper bound.
func (s *Store) MessagesBefore(room, before int64, limit int) ([]*pb.Message, error) {
	if before <= 0 {
		before = int64(maxSeq)
	}
	msgs, err := s.scanMessages(room, before-1, true, limit)
	slices.Reverse(msgs)
	return msgs, err
}

// MessagesAfter returns up to limit messages of room with seq > after,
// oldest first.
func (s *Store) MessagesAfter(room, after int64, limit int) ([]*pb.Message, error) {
	return s.scanMessages(room, after+1, false, limit)
}

// scanMessages reads up to limit messages of room starting at seq from,
// upwards or (reverse) downwards, in scan order.
func (s *Store) scanMessages(room, from int64, reverse bool, limit int) ([]*pb.Message, error) {
	var msgs []*pb.Message
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: reverse, Prefix: roomMessagesPrefix(room), PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		for it.Seek(MessageKey(room, from)); it.Valid() && len(msgs) < limit; it.Next() {
			m, err := itemMessage(it.Item())
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("messages of room %d: %w", room, err)
	}
	return msgs, nil
}

// MessageByClientID returns the message that user sent to room with
// clientID, or ErrNotFound.
func (s *Store) MessageByClientID(room, user int64, clientID string) (*pb.Message, error) {
	key := clientIDKey(room, user, clientID)
	if s.clientIDs.neverStored(room, key) {
		return nil, ErrNotFound
	}
	m := &pb.Message{}
	err := s.view(func(txn *badger.Txn) error {
		seq, err := getUint64(txn, key)
		if err != nil {
			return err
		}
		return getProto(txn, MessageKey(room, int64(seq)), m)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("message by client id: %w", err)
	}
	return normalizeMessage(m), nil
}

func itemMessage(item *badger.Item) (*pb.Message, error) {
	m := &pb.Message{}
	err := item.Value(func(b []byte) error { return proto.Unmarshal(b, m) })
	return normalizeMessage(m), err
}
