package persistence

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// CreateRoom stores r with a new id (written into r), its owner as its
// "owner" member and each of members (ids of existing users) as a
// "member"; r.MemberCount is set. A room without a kind is public. A room
// with a post fails with ErrPostTaken when another room, of any kind, has
// the same post.
func (s *Store) CreateRoom(r *pb.Room, members ...int64) error {
	if r.Kind == "" {
		r.Kind = KindPublic
	}
	if err := s.space.admit(accountRecord, true); err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	if s.repl != nil {
		v, err := s.propose("create room", &pb.Command{Op: &pb.Command_CreateRoom{CreateRoom: &pb.CreateRoom{Room: r, Members: members}}})
		if err != nil {
			return err
		}
		stored := v.(*pb.Room)
		r.Id, r.MemberCount = stored.Id, stored.MemberCount
		return nil
	}
	return s.createRoomLocal(r, members)
}

// createRoomLocal stores r in this store, with a new id.
func (s *Store) createRoomLocal(r *pb.Room, members []int64) error {
	s.createRoom.Lock()
	defer s.createRoom.Unlock()
	err := s.update(func(txn *badger.Txn) error {
		if r.Post != 0 {
			if _, err := txn.Get(postKey(r.Post)); err == nil {
				return ErrPostTaken
			} else if err != badger.ErrKeyNotFound {
				return err
			}
		}
		id, err := nextCounter(txn, keyNextRoom)
		if err != nil {
			return err
		}
		r.Id = id
		if r.Post != 0 {
			if err := txn.Set(postKey(r.Post), appendUint64(nil, uint64(id))); err != nil {
				return err
			}
		}
		return createRoomTxn(txn, r, members)
	})
	if err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	s.cache.forgetMembers(r.Id, append(members[:len(members):len(members)], r.Owner))
	return nil
}

// RoomByID returns the room with id, or ErrNotFound. The result is shared
// and must not be modified.
func (s *Store) RoomByID(id int64) (*pb.Room, error) {
	return caughtUp(s, func() (*pb.Room, error) {
		return s.cache.room(id, func() (*pb.Room, error) { return s.readRoom(id) })
	})
}

func (s *Store) readRoom(id int64) (*pb.Room, error) {
	r := &pb.Room{}
	err := s.view(func(txn *badger.Txn) error { return getProto(txn, roomKey(id), r) })
	if err != nil {
		return nil, fmt.Errorf("room %d: %w", id, err)
	}
	return r, nil
}

// Rooms returns up to limit rooms with id > after, by id ascending.
func (s *Store) Rooms(after int64, limit int) ([]*pb.Room, error) {
	var rooms []*pb.Room
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(limit, 100), Prefix: prefixRoom})
		defer it.Close()
		start := after + 1
		if start < 1 {
			start = 1
		}
		for it.Seek(roomKey(start)); it.Valid() && len(rooms) < limit; it.Next() {
			r := &pb.Room{}
			if err := it.Item().Value(func(b []byte) error { return unmarshal(b, r) }); err != nil {
				return err
			}
			rooms = append(rooms, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	return rooms, nil
}
