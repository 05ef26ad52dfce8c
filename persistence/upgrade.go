package persistence

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// upgradeBatch is how many rooms one upgrade transaction rewrites: three
// small records each, far below Badger's transaction limits.
const upgradeBatch = 500

// upgrade brings a schema 1 database (before room kinds and members) to
// schema 2: every room becomes public, and its owner its only member, with
// role owner and a read marker at the room's last seq. Rooms are rewritten
// in batches and the version changes last, so an interrupted upgrade runs
// again from the start on the next open, rewriting the same records.
func (s *Store) upgrade() error {
	var v uint64
	err := s.view(func(txn *badger.Txn) error {
		var err error
		v, err = getUint64(txn, keySchema)
		return err
	})
	if errors.Is(err, ErrNotFound) || err == nil && v != 1 {
		return nil // a new database, or one readMeta accepts or refuses
	}
	if err != nil {
		return fmt.Errorf("persistence: upgrade: %w", err)
	}
	n := 0
	for after := int64(0); ; {
		rooms, err := s.Rooms(after, upgradeBatch)
		if err != nil {
			return fmt.Errorf("persistence: upgrade: %w", err)
		}
		if len(rooms) == 0 {
			break
		}
		last := make([]int64, len(rooms))
		for i, r := range rooms {
			if last[i], err = s.LastSeq(r.Id); err != nil {
				return fmt.Errorf("persistence: upgrade: %w", err)
			}
		}
		err = s.update(func(txn *badger.Txn) error {
			for i, r := range rooms {
				if err := upgradeRoom(txn, r, last[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("persistence: upgrade: %w", err)
		}
		n += len(rooms)
		after = rooms[len(rooms)-1].Id
	}
	if err := s.update(func(txn *badger.Txn) error {
		return txn.Set(keySchema, appendUint64(nil, schemaVersion))
	}); err != nil {
		return fmt.Errorf("persistence: upgrade: %w", err)
	}
	s.log.Info("upgraded the database to schema 2: every room public, its owner its only member", "rooms", n)
	return nil
}

// upgradeRoom makes r public with its owner as its only member.
func upgradeRoom(txn *badger.Txn, r *pb.Room, lastSeq int64) error {
	r.Kind, r.MemberCount = KindPublic, 0
	if r.Owner > 0 {
		r.MemberCount = 1
		m := &pb.Member{Room: r.Id, User: r.Owner, Role: RoleOwner, JoinedAtUs: r.CreatedAtUs, LastReadSeq: lastSeq}
		if err := setProto(txn, memberKey(r.Id, r.Owner), m); err != nil {
			return err
		}
		if err := txn.Set(userRoomKey(r.Owner, r.Id), nil); err != nil {
			return err
		}
	}
	return setProto(txn, roomKey(r.Id), r)
}
