package persistence

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// memberIDs returns the user ids of ms with their roles.
func memberIDs(ms []*pb.Member) map[int64]string {
	out := map[int64]string{}
	for _, m := range ms {
		out[m.User] = m.Role
	}
	return out
}

func TestCreateRoomStoresOwnerAndMembers(t *testing.T) {
	s := openTestStore(t, "")
	pub := &pb.Room{Name: "pub", Owner: 1}
	if err := s.CreateRoom(pub); err != nil {
		t.Fatal(err)
	}
	priv := &pb.Room{Name: "priv", Owner: 1, Kind: KindPrivate}
	if err := s.CreateRoom(priv, 2, 2, 1, 3); err != nil {
		t.Fatal(err)
	}
	if pub.Kind != KindPublic || pub.MemberCount != 1 || priv.MemberCount != 3 {
		t.Fatalf("kinds and counts: %q %d, %q %d", pub.Kind, pub.MemberCount, priv.Kind, priv.MemberCount)
	}
	ms, err := s.Members(priv.Id, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := memberIDs(ms); len(got) != 3 || got[1] != RoleOwner || got[2] != RoleMember || got[3] != RoleMember {
		t.Fatalf("members %v", got)
	}
	if ids, _ := s.MemberIDs(priv.Id); !equalSeqs(ids, []int64{1, 2, 3}) {
		t.Fatalf("MemberIDs = %v", ids)
	}
	if ms, _ := s.Members(priv.Id, 1, 1); len(ms) != 1 || ms[0].User != 2 {
		t.Fatalf("Members(after 1, limit 1) = %v", ms)
	}
	if ids, _ := s.UserRooms(1); !equalSeqs(ids, []int64{pub.Id, priv.Id}) {
		t.Fatalf("UserRooms(1) = %v", ids)
	}
	if ids, _ := s.UserRooms(2); !equalSeqs(ids, []int64{priv.Id}) {
		t.Fatalf("UserRooms(2) = %v", ids)
	}
	// Visibility: the private room answers like a missing one to user 4.
	if _, err := s.RoomVisibleTo(priv.Id, 4); !errors.Is(err, ErrNotFound) {
		t.Fatalf("private room to a non-member: %v", err)
	}
	if _, err := s.RoomVisibleTo(priv.Id, 3); err != nil {
		t.Fatalf("private room to a member: %v", err)
	}
	if _, err := s.RoomVisibleTo(pub.Id, 4); err != nil {
		t.Fatalf("public room to anyone: %v", err)
	}
	rooms, member, err := s.VisibleRooms(4, 0, 10)
	if err != nil || len(rooms) != 1 || rooms[0].Id != pub.Id || len(member) != 0 {
		t.Fatalf("VisibleRooms(4) = %v, %v, %v", rooms, member, err)
	}
	rooms, member, _ = s.VisibleRooms(2, 0, 10)
	if len(rooms) != 2 || !member[priv.Id] || member[pub.Id] {
		t.Fatalf("VisibleRooms(2) = %v, %v", rooms, member)
	}
}

func TestAddRemoveMemberKeepsCountAndCache(t *testing.T) {
	s := openTestStore(t, "")
	r := &pb.Room{Name: "r", Owner: 1, Kind: KindPrivate}
	if err := s.CreateRoom(r); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RoomByID(r.Id); got.MemberCount != 1 { // now cached
		t.Fatalf("member_count %d", got.MemberCount)
	}
	if _, err := s.Member(r.Id, 2); !errors.Is(err, ErrNotFound) { // now cached as absent
		t.Fatalf("member before the add: %v", err)
	}
	m, added, err := s.AddMember(&pb.Member{Room: r.Id, User: 2, Role: RoleMember, LastReadSeq: 7}, 2)
	if err != nil || !added || m.LastReadSeq != 7 {
		t.Fatalf("add: %v %v %v", m, added, err)
	}
	m, added, err = s.AddMember(&pb.Member{Room: r.Id, User: 2, Role: RoleMember, LastReadSeq: 9}, 2)
	if err != nil || added || m.LastReadSeq != 7 {
		t.Fatalf("add again: %v %v %v", m, added, err)
	}
	if _, _, err := s.AddMember(&pb.Member{Room: r.Id, User: 3, Role: RoleMember}, 2); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("add past the limit: %v", err)
	}
	if got, _ := s.RoomByID(r.Id); got.MemberCount != 2 {
		t.Fatalf("cached member_count %d after an add, want 2", got.MemberCount)
	}
	if _, err := s.UpdateMember(r.Id, 2, func(m *pb.Member) error { m.LastReadSeq = 11; return nil }); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Member(r.Id, 2); err != nil || m.LastReadSeq != 11 {
		t.Fatalf("marker %d", m.LastReadSeq)
	}
	if err := s.RemoveMember(r.Id, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Member(r.Id, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cached member after its removal: %v", err)
	}
	if err := s.RemoveMember(r.Id, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove again: %v", err)
	}
	if _, err := s.UpdateMember(r.Id, 2, func(*pb.Member) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a marker after the removal brought the member back: %v", err)
	}
	if got, _ := s.RoomByID(r.Id); got.MemberCount != 1 {
		t.Fatalf("cached member_count %d after a removal, want 1", got.MemberCount)
	}
	if ids, _ := s.UserRooms(2); len(ids) != 0 {
		t.Fatalf("UserRooms after removal %v", ids)
	}
}

func TestOpenDirectConcurrentOneRoom(t *testing.T) {
	s := openTestStore(t, "")
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	created := make([]bool, 20)
	errs := make([]error, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := int64(5), int64(9)
			if i%2 == 1 {
				a, b = b, a
			}
			r, c, err := s.OpenDirect(a, b, time.Now().UnixMicro())
			if err == nil {
				ids[i], created[i] = r.Id, c
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("ids %v", ids)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d opens created the room, want 1", n)
	}
	r, _ := s.RoomByID(ids[0])
	ms, _ := s.Members(r.Id, 0, 10)
	if r.Kind != KindDirect || r.MemberCount != 2 || r.Post != 0 {
		t.Fatalf("direct room %v", r)
	}
	if got := memberIDs(ms); len(got) != 2 || got[5] != RoleMember || got[9] != RoleMember {
		t.Fatalf("direct members %v", got)
	}
	if _, _, err := s.OpenDirect(5, 5, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("direct room with oneself: %v", err)
	}
}

// writeSchema1 fills dir as this store's first schema did: rooms without
// a kind or members, messages, and meta/schema 1.
func writeSchema1(t *testing.T, dir string) {
	t.Helper()
	s := openTestStore(t, dir)
	w := s.NewWriter(WriterConfig{})
	err := s.update(func(txn *badger.Txn) error {
		for id := int64(1); id <= 3; id++ {
			r := &pb.Room{Id: id, Name: "old", Owner: id * 10, CreatedAtUs: id}
			if err := setProto(txn, roomKey(id), r); err != nil {
				return err
			}
		}
		if err := txn.Set(keyNextRoom, appendUint64(nil, 3)); err != nil {
			return err
		}
		return txn.Set(keySchema, appendUint64(nil, 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	fillRoom(t, s, w, 1, 5)
	fillRoom(t, s, w, 3, 2)
	w.Close()
	closeStore(t, s)
}

func TestUpgradeFromSchema1(t *testing.T) {
	dir := t.TempDir()
	writeSchema1(t, dir)
	s := openTestStore(t, dir)
	wantLast := map[int64]int64{1: 5, 2: 0, 3: 2}
	for id := int64(1); id <= 3; id++ {
		r, err := s.RoomByID(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != KindPublic || r.MemberCount != 1 {
			t.Errorf("room %d: kind %q, member_count %d", id, r.Kind, r.MemberCount)
		}
		ms, err := s.Members(id, 0, 10)
		if err != nil || len(ms) != 1 {
			t.Fatalf("room %d members %v, %v", id, ms, err)
		}
		if m := ms[0]; m.User != id*10 || m.Role != RoleOwner || m.LastReadSeq != wantLast[id] {
			t.Errorf("room %d member %v, want owner %d at seq %d", id, m, id*10, wantLast[id])
		}
		if ids, _ := s.UserRooms(id * 10); !equalSeqs(ids, []int64{id}) {
			t.Errorf("UserRooms(%d) = %v", id*10, ids)
		}
	}
	// The version is written: the next room gets the next id, and a
	// reopen upgrades nothing again.
	r := &pb.Room{Name: "new", Owner: 10}
	if err := s.CreateRoom(r); err != nil || r.Id != 4 {
		t.Fatalf("new room %d, %v", r.Id, err)
	}
	closeStore(t, s)
	s = openTestStore(t, dir)
	if r, _ := s.RoomByID(4); r.MemberCount != 1 {
		t.Fatalf("room 4 after a reopen: %v", r)
	}
	if m, _ := s.Member(1, 10); m.LastReadSeq != 5 {
		t.Fatalf("member after a reopen: %v", m)
	}
}

func TestAddMembersInOneWrite(t *testing.T) {
	s := openTestStore(t, "")
	r := &pb.Room{Name: "r", Owner: 1}
	if err := s.CreateRoom(r, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Member(r.Id, 3); !errors.Is(err, ErrNotFound) { // cached as absent
		t.Fatal(err)
	}
	ms := []*pb.Member{{Room: r.Id, User: 2, Role: RoleMember}, {Room: r.Id, User: 3, Role: RoleMember},
		{Room: r.Id, User: 4, Role: RoleMember}, {Room: r.Id, User: 5, Role: RoleMember}}
	added, err := s.AddMembers(r.Id, ms, 4)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(added) != "[false true true false]" {
		t.Fatalf("added %v: want the existing member skipped and the limit of 4 kept", added)
	}
	if m, err := s.Member(r.Id, 3); err != nil || m.User != 3 {
		t.Fatalf("member 3 after the write: %v, %v", m, err)
	}
	if got, _ := s.RoomByID(r.Id); got.MemberCount != 4 {
		t.Fatalf("member_count %d", got.MemberCount)
	}
	if ids, _ := s.UserRooms(4); !equalSeqs(ids, []int64{r.Id}) {
		t.Fatalf("UserRooms(4) = %v", ids)
	}
}
