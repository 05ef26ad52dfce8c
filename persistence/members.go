package persistence

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// Room kinds and member roles, as stored and as the API shows them.
const (
	KindPublic  = "public"
	KindPrivate = "private"
	KindDirect  = "direct"
	RoleOwner   = "owner"
	RoleMember  = "member"
)

// ErrRoomFull means the room has as many members as its limit allows.
var ErrRoomFull = errors.New("persistence: room member limit reached")

// RoomKind returns r's kind: a room stored before kinds existed is public.
func RoomKind(r *pb.Room) string {
	if r.Kind == "" {
		return KindPublic
	}
	return r.Kind
}

// createRoomTxn writes r (its id already set), the owner's membership
// (none for a direct room, whose members are all given) and every member
// of members that is not the owner, each once.
func createRoomTxn(txn *badger.Txn, r *pb.Room, members []int64) error {
	seen := make(map[int64]bool, len(members)+1)
	add := func(user int64, role string) error {
		if user <= 0 || seen[user] {
			return nil
		}
		seen[user] = true
		r.MemberCount++
		m := &pb.Member{Room: r.Id, User: user, Role: role, JoinedAtUs: r.CreatedAtUs}
		if err := setProto(txn, memberKey(r.Id, user), m); err != nil {
			return err
		}
		return txn.Set(userRoomKey(user, r.Id), nil)
	}
	r.MemberCount = 0
	if r.Kind != KindDirect {
		if err := add(r.Owner, RoleOwner); err != nil {
			return err
		}
	}
	for _, u := range members {
		if err := add(u, RoleMember); err != nil {
			return err
		}
	}
	return setProto(txn, roomKey(r.Id), r)
}

// OpenDirect returns the direct room of users a and b, creating it, opened
// by a and named by nothing (each member sees the other's nickname), when
// it does not exist. created says which. Concurrent calls from either side
// return the same room.
func (s *Store) OpenDirect(a, b, createdAtUs int64) (room *pb.Room, created bool, err error) {
	if a == b || a <= 0 || b <= 0 {
		return nil, false, fmt.Errorf("open direct room: %d and %d: %w", a, b, ErrNotFound)
	}
	var existing int64
	err = s.view(func(txn *badger.Txn) error {
		id, err := getUint64(txn, directKey(a, b))
		existing = int64(id)
		return err
	})
	if err == nil {
		room, err = s.RoomByID(existing)
		return room, false, err
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, false, fmt.Errorf("open direct room: %w", err)
	}
	if err := s.space.admit(accountRecord, true); err != nil {
		return nil, false, fmt.Errorf("open direct room: %w", err)
	}
	if s.repl != nil {
		v, err := s.propose("open direct room", &pb.Command{Op: &pb.Command_OpenDirect{OpenDirect: &pb.OpenDirect{A: a, B: b, CreatedAtUs: createdAtUs}}})
		if err != nil {
			return nil, false, err
		}
		d := v.(directOpened)
		return d.room, d.created, nil
	}
	return s.openDirectLocal(a, b, createdAtUs)
}

// directOpened is what OpenDirect answers.
type directOpened struct {
	room    *pb.Room
	created bool
}

// openDirectLocal opens the direct room of a and b in this store.
func (s *Store) openDirectLocal(a, b, createdAtUs int64) (room *pb.Room, created bool, err error) {
	var existing int64
	s.createRoom.Lock()
	defer s.createRoom.Unlock()
	r := &pb.Room{Owner: a, CreatedAtUs: createdAtUs, Kind: KindDirect}
	err = s.update(func(txn *badger.Txn) error {
		id, err := getUint64(txn, directKey(a, b))
		if err == nil {
			existing = int64(id)
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if r.Id, err = nextCounter(txn, keyNextRoom); err != nil {
			return err
		}
		if err := txn.Set(directKey(a, b), appendUint64(nil, uint64(r.Id))); err != nil {
			return err
		}
		return createRoomTxn(txn, r, []int64{a, b})
	})
	if err != nil {
		return nil, false, fmt.Errorf("open direct room: %w", err)
	}
	if existing != 0 {
		room, err = s.RoomByID(existing)
		return room, false, err
	}
	s.cache.forgetMembers(r.Id, []int64{a, b})
	return r, true, nil
}

// Member returns user's membership of room, or ErrNotFound. The result is
// shared and must not be modified.
func (s *Store) Member(room, user int64) (*pb.Member, error) {
	return caughtUp(s, func() (*pb.Member, error) {
		return s.cache.member(room, user, func() (*pb.Member, error) {
			m := &pb.Member{}
			err := s.view(func(txn *badger.Txn) error { return getProto(txn, memberKey(room, user), m) })
			if err != nil {
				return nil, fmt.Errorf("member %d of room %d: %w", user, room, err)
			}
			return m, nil
		})
	})
}

// Members returns up to limit members of room with user id > after, by
// user id ascending.
func (s *Store) Members(room, after int64, limit int) ([]*pb.Member, error) {
	var ms []*pb.Member
	err := s.view(func(txn *badger.Txn) error {
		prefix := pairPrefix(prefixMember, room)
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(max(limit, 1), 100), Prefix: prefix})
		defer it.Close()
		for it.Seek(memberKey(room, max(after+1, 0))); it.Valid() && len(ms) < limit; it.Next() {
			m := &pb.Member{}
			if err := it.Item().Value(func(b []byte) error { return unmarshal(b, m) }); err != nil {
				return err
			}
			ms = append(ms, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("members of room %d: %w", room, err)
	}
	return ms, nil
}

// MemberIDs returns the user ids of every member of room, ascending. It
// reads keys only: a room actor loads it once to check posts in memory.
func (s *Store) MemberIDs(room int64) ([]int64, error) {
	var ids []int64
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: pairPrefix(prefixMember, room)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, pairSecond(it.Item().Key()))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("member ids of room %d: %w", room, err)
	}
	return ids, nil
}

// UserRooms returns the ids of the rooms user is a member of, ascending.
func (s *Store) UserRooms(user int64) ([]int64, error) {
	var ids []int64
	err := s.view(func(txn *badger.Txn) error {
		ids = userRoomsTxn(txn, user)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rooms of user %d: %w", user, err)
	}
	return ids, nil
}

func userRoomsTxn(txn *badger.Txn, user int64) []int64 {
	var ids []int64
	it := txn.NewIterator(badger.IteratorOptions{Prefix: pairPrefix(prefixUserRoom, user)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		ids = append(ids, pairSecond(it.Item().Key()))
	}
	return ids
}

// AddMember stores m (m.Room, m.User, role, joined_at, last_read_seq set
// by the caller) unless the user already is a member, in which case it
// returns the existing membership with added false. A room with
// maxMembers members or more refuses with ErrRoomFull (maxMembers <= 0:
// no limit).
func (s *Store) AddMember(m *pb.Member, maxMembers int) (member *pb.Member, added bool, err error) {
	if err := s.space.admit(smallRecord, true); err != nil {
		return nil, false, fmt.Errorf("add member: %w", err)
	}
	if s.repl != nil {
		v, err := s.propose("add member", &pb.Command{Op: &pb.Command_AddMembers{AddMembers: &pb.AddMembers{
			Room: m.Room, Members: []*pb.Member{m}, MaxMembers: int64(maxMembers), Single: true}}})
		if err != nil {
			return nil, false, err
		}
		a := v.(memberAdded)
		return a.member, a.added, nil
	}
	return s.addMemberLocal(m, maxMembers)
}

// memberAdded is what AddMember answers.
type memberAdded struct {
	member *pb.Member
	added  bool
}

// addMemberLocal is AddMember in this store.
func (s *Store) addMemberLocal(m *pb.Member, maxMembers int) (member *pb.Member, added bool, err error) {
	err = s.cache.updateMember(m.Room, m.User, func() error {
		return s.update(func(txn *badger.Txn) error {
			member, added = m, false
			old := &pb.Member{}
			if err := getProto(txn, memberKey(m.Room, m.User), old); err == nil {
				member = old
				return nil
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			r := &pb.Room{}
			if err := getProto(txn, roomKey(m.Room), r); err != nil {
				return err
			}
			if maxMembers > 0 && r.MemberCount >= int64(maxMembers) {
				return ErrRoomFull
			}
			r.MemberCount++
			if err := setProto(txn, memberKey(m.Room, m.User), m); err != nil {
				return err
			}
			if err := txn.Set(userRoomKey(m.User, m.Room), nil); err != nil {
				return err
			}
			added = true
			return setProto(txn, roomKey(m.Room), r)
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("add member: %w", err)
	}
	return member, added, nil
}

// AddMembers stores each of ms (all of one room, with every field set)
// that is not a member yet, in one transaction, while the room has fewer
// than maxMembers members (<= 0: no limit). added[i] says whether ms[i]
// was stored. Users joining a busy room together cost one write.
func (s *Store) AddMembers(room int64, ms []*pb.Member, maxMembers int) (added []bool, err error) {
	if err := s.space.admit(int64(len(ms))*smallRecord, true); err != nil {
		return nil, fmt.Errorf("add members: %w", err)
	}
	if s.repl != nil {
		v, err := s.propose("add members", &pb.Command{Op: &pb.Command_AddMembers{AddMembers: &pb.AddMembers{
			Room: room, Members: ms, MaxMembers: int64(maxMembers)}}})
		if err != nil {
			return nil, err
		}
		return v.([]bool), nil
	}
	return s.addMembersLocal(room, ms, maxMembers)
}

// addMembersLocal is AddMembers in this store.
func (s *Store) addMembersLocal(room int64, ms []*pb.Member, maxMembers int) (added []bool, err error) {
	err = s.update(func(txn *badger.Txn) error {
		added = make([]bool, len(ms))
		r := &pb.Room{}
		if err := getProto(txn, roomKey(room), r); err != nil {
			return err
		}
		for i, m := range ms {
			if maxMembers > 0 && r.MemberCount >= int64(maxMembers) {
				break
			}
			if _, err := txn.Get(memberKey(room, m.User)); err == nil {
				continue
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			if err := setProto(txn, memberKey(room, m.User), m); err != nil {
				return err
			}
			if err := txn.Set(userRoomKey(m.User, room), nil); err != nil {
				return err
			}
			r.MemberCount++
			added[i] = true
		}
		return setProto(txn, roomKey(room), r)
	})
	users := make([]int64, len(ms))
	for i, m := range ms {
		users[i] = m.User
	}
	s.cache.forgetMembers(room, users)
	s.cache.forgetRoom(room)
	if err != nil {
		return nil, fmt.Errorf("add members: %w", err)
	}
	return added, nil
}

// RemoveMember deletes user's membership of room and its read marker, or
// fails with ErrNotFound when user is not a member.
func (s *Store) RemoveMember(room, user int64) error {
	if err := s.space.admit(smallRecord, true); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if s.repl != nil {
		_, err := s.propose("remove member", &pb.Command{Op: &pb.Command_RemoveMember{RemoveMember: &pb.RemoveMember{Room: room, User: user}}})
		return err
	}
	return s.removeMemberLocal(room, user)
}

// removeMemberLocal is RemoveMember in this store.
func (s *Store) removeMemberLocal(room, user int64) error {
	err := s.cache.updateMember(room, user, func() error {
		return s.update(func(txn *badger.Txn) error {
			if _, err := txn.Get(memberKey(room, user)); errors.Is(err, badger.ErrKeyNotFound) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			r := &pb.Room{}
			if err := getProto(txn, roomKey(room), r); err != nil {
				return err
			}
			r.MemberCount = max(r.MemberCount-1, 0)
			if err := txn.Delete(memberKey(room, user)); err != nil {
				return err
			}
			if err := txn.Delete(userRoomKey(user, room)); err != nil {
				return err
			}
			return setProto(txn, roomKey(room), r)
		})
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}

// UpdateMember changes user's membership of room with fn inside one
// transaction (the read marker), or fails with ErrNotFound when user is
// not a member: an update never brings a removed membership back. fn must
// not change the room, the user or the role.
func (s *Store) UpdateMember(room, user int64, fn func(m *pb.Member) error) (*pb.Member, error) {
	if err := s.space.admit(smallRecord, true); err != nil {
		return nil, fmt.Errorf("update member: %w", err)
	}
	var m *pb.Member
	err := s.cache.updateMember(room, user, func() error {
		return s.update(func(txn *badger.Txn) error {
			m = &pb.Member{}
			if err := getProto(txn, memberKey(room, user), m); err != nil {
				return err
			}
			if err := fn(m); err != nil {
				return err
			}
			return setProto(txn, memberKey(room, user), m)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("update member: %w", err)
	}
	return m, nil
}

// RoomVisibleTo returns room id when user may see it (a public room, or
// one user is a member of), and ErrNotFound otherwise, the same error as
// for a room that does not exist. The result is shared and must not be
// modified.
func (s *Store) RoomVisibleTo(id, user int64) (*pb.Room, error) {
	r, err := s.RoomByID(id)
	if err != nil {
		return nil, err
	}
	if RoomKind(r) == KindPublic {
		return r, nil
	}
	if _, err := s.Member(id, user); err != nil {
		return nil, fmt.Errorf("room %d: %w", id, err)
	}
	return r, nil
}

// VisibleRooms returns up to limit rooms with id > after that user may
// see, by id ascending, and the set of those the user is a member of.
func (s *Store) VisibleRooms(user, after int64, limit int) (rooms []*pb.Room, member map[int64]bool, err error) {
	err = s.view(func(txn *badger.Txn) error {
		ids := userRoomsTxn(txn, user)
		member = make(map[int64]bool, len(ids))
		for _, id := range ids {
			member[id] = true
		}
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(max(limit, 1), 100), Prefix: prefixRoom})
		defer it.Close()
		for it.Seek(roomKey(max(after+1, 1))); it.Valid() && len(rooms) < limit; it.Next() {
			r := &pb.Room{}
			if err := it.Item().Value(func(b []byte) error { return unmarshal(b, r) }); err != nil {
				return err
			}
			if RoomKind(r) == KindPublic || member[r.Id] {
				rooms = append(rooms, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list rooms: %w", err)
	}
	return rooms, member, nil
}
