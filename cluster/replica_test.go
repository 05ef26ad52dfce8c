package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// replicas starts a store replica on each node.
func replicas(t testing.TB, nodes []*Node) []*persistence.Store {
	t.Helper()
	stores := make([]*persistence.Store, len(nodes))
	for i, n := range nodes {
		st, err := persistence.Open(persistence.Config{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		r, err := n.Replicate(context.Background(), st)
		if err != nil {
			t.Fatalf("replicate on %s: %v", n.cfg.Node, err)
		}
		t.Cleanup(r.Close)
		stores[i] = st
	}
	return stores
}

// TestAccountsAcrossReplicas registers on every node at once and checks
// that each replica holds the same accounts under the same ids, that an
// email is unique cluster-wide, and that the signing secret and token
// revocations are the cluster's, not a node's.
func TestAccountsAcrossReplicas(t *testing.T) {
	nodes := startAll(t, testCluster(t, 3))
	stores := replicas(t, nodes)

	const perNode = 10
	var wg sync.WaitGroup
	errs := make(chan error, 3*perNode)
	for i, st := range stores {
		wg.Go(func() {
			for k := range perNode {
				u := &pb.User{Email: fmt.Sprintf("u%d-%d@example.com", i, k), Nickname: "n"}
				if err := st.CreateUser(u); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("register: %v", err)
	}
	// The same email, differently cased, through another node.
	dup := &pb.User{Email: "U0-3@EXAMPLE.com"}
	if err := stores[2].CreateUser(dup); !errors.Is(err, persistence.ErrEmailTaken) {
		t.Fatalf("a taken email through another node: %v", err)
	}

	ids := map[int64]string{}
	for i, st := range stores {
		if err := st.Sync(); err != nil {
			t.Fatal(err)
		}
		for a := range 3 {
			for k := range perNode {
				email := fmt.Sprintf("u%d-%d@example.com", a, k)
				u, err := st.UserByEmail(email)
				if err != nil {
					t.Fatalf("replica %d: %s: %v", i, email, err)
				}
				if prev, ok := ids[u.Id]; ok && prev != email {
					t.Fatalf("replica %d: id %d is %s and %s", i, u.Id, prev, email)
				}
				ids[u.Id] = email
			}
		}
	}
	if len(ids) != 3*perNode {
		t.Fatalf("%d distinct ids, want %d", len(ids), 3*perNode)
	}

	var secret []byte
	for i, st := range stores {
		s, err := st.Secret()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && string(s) != string(secret) {
			t.Fatalf("replica %d signs with another secret", i)
		}
		secret = s
	}

	if err := stores[0].RevokeToken("jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].Sync(); err != nil {
		t.Fatal(err)
	}
	if revoked, err := stores[1].IsRevoked("jti-1"); err != nil || !revoked {
		t.Fatalf("revoked on one node, on another: %v, %v", revoked, err)
	}
}

// TestReplicaResumes restarts a node and its store: the store resumes the
// log where it stopped, applies what it missed once, and its next
// registration gets the next id, not one already given.
func TestReplicaResumes(t *testing.T) {
	cfgs := testCluster(t, 3)
	nodes := startAll(t, cfgs)
	dir := t.TempDir()
	open := func() *persistence.Store {
		st, err := persistence.Open(persistence.Config{Dir: dir, Durability: persistence.DurabilityOS})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	disk := open()
	if _, err := nodes[2].Replicate(context.Background(), disk); err != nil {
		t.Fatal(err)
	}
	mem := replicas(t, nodes[:1])[0]
	for k := range 5 {
		if err := mem.CreateUser(&pb.User{Email: fmt.Sprintf("a%d@example.com", k)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := disk.Sync(); err != nil {
		t.Fatal(err)
	}
	nodes[2].Close()
	if err := disk.Close(); err != nil {
		t.Fatal(err)
	}
	for k := range 5 {
		if err := mem.CreateUser(&pb.User{Email: fmt.Sprintf("b%d@example.com", k)}); err != nil {
			t.Fatal(err)
		}
	}
	back := startAll(t, cfgs[2:])[0]
	disk = open()
	t.Cleanup(func() { _ = disk.Close() })
	if _, err := back.Replicate(context.Background(), disk); err != nil {
		t.Fatal(err)
	}
	u := &pb.User{Email: "after@example.com"}
	if err := disk.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	if u.Id != 11 {
		t.Fatalf("the first account after the restart got id %d, want 11", u.Id)
	}
	for _, e := range []string{"a4@example.com", "b4@example.com"} {
		if _, err := disk.UserByEmail(e); err != nil {
			t.Fatalf("%s after the restart: %v", e, err)
		}
	}
}

// TestRoomsAcrossReplicas creates rooms, memberships and read markers
// through different nodes, some at once, and checks every replica holds
// the same: one room per post, one direct room per pair, members and
// markers as the last write through any node left them.
func TestRoomsAcrossReplicas(t *testing.T) {
	nodes := startAll(t, testCluster(t, 3))
	stores := replicas(t, nodes)
	var users []int64
	for k := range 3 {
		u := &pb.User{Email: fmt.Sprintf("r%d@example.com", k)}
		if err := stores[k].CreateUser(u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u.Id)
	}

	// Two nodes create a room for the same post at once: one wins.
	rooms := make([]*pb.Room, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			rooms[i] = &pb.Room{Name: fmt.Sprint("post room ", i), Post: 77, Owner: users[i]}
			errs[i] = stores[i].CreateRoom(rooms[i])
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won = i
		case !errors.Is(err, persistence.ErrPostTaken):
			t.Fatalf("create through node %d: %v", i+1, err)
		}
	}
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two creations for one post: %v, %v", errs[0], errs[1])
	}
	room := rooms[won].Id

	// Both ends open their direct room at once, through different nodes.
	direct := make([]*pb.Room, 2)
	for i := range 2 {
		wg.Go(func() {
			var err error
			if direct[i], _, err = stores[i+1].OpenDirect(users[i], users[1-i], 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() || direct[0].Id != direct[1].Id {
		t.Fatalf("direct rooms %v and %v", direct[0], direct[1])
	}

	if _, added, err := stores[2].AddMember(&pb.Member{Room: room, User: users[2], Role: persistence.RoleMember}, 10); err != nil || !added {
		t.Fatalf("add member through node 3: %v, %v", added, err)
	}
	moves := []persistence.ReadMarker{{Room: room, User: users[2], Seq: 5}}
	if err := stores[0].MoveReadMarkers(moves); err != nil || !moves[0].Moved || moves[0].Seq != 5 {
		t.Fatalf("marker through node 1: %+v, %v", moves, err)
	}
	if err := stores[1].RemoveMember(room, users[won]); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].RemoveMember(room, users[won]); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("removing a member twice: %v", err)
	}

	for i, st := range stores {
		if err := st.Sync(); err != nil {
			t.Fatal(err)
		}
		r, err := st.RoomByID(room)
		if err != nil || r.Post != 77 || r.MemberCount != 1 {
			t.Fatalf("replica %d: room %+v, %v", i, r, err)
		}
		m, err := st.Member(room, users[2])
		if err != nil || m.LastReadSeq != 5 {
			t.Fatalf("replica %d: member %+v, %v", i, m, err)
		}
		if _, err := st.Member(room, users[won]); !errors.Is(err, persistence.ErrNotFound) {
			t.Fatalf("replica %d: a removed member: %v", i, err)
		}
		d, err := st.RoomByID(direct[0].Id)
		if err != nil || d.Kind != persistence.KindDirect || d.MemberCount != 2 {
			t.Fatalf("replica %d: direct room %+v, %v", i, d, err)
		}
	}
}

// TestProfileUpdatesDoNotLoseEachOther changes one account through two
// nodes at once, each a different field: the log's compare-and-set makes
// the later one read again, so every replica ends with both changes.
func TestProfileUpdatesDoNotLoseEachOther(t *testing.T) {
	nodes := startAll(t, testCluster(t, 3))
	stores := replicas(t, nodes)
	u := &pb.User{Email: "p@example.com", Nickname: "before"}
	if err := stores[0].CreateUser(u); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			st := stores[1+i%2]
			_, err := st.UpdateUser(u.Id, func(v *pb.User) error {
				if i%2 == 0 {
					v.Nickname += "n"
				} else {
					v.ProfilePicture += "p"
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, st := range stores {
		if err := st.Sync(); err != nil {
			t.Fatal(err)
		}
		got, err := st.UserByID(u.Id)
		if err != nil || got.Nickname != "before"+strings.Repeat("n", 10) || got.ProfilePicture != strings.Repeat("p", 10) {
			t.Fatalf("replica %d: %+v, %v", i, got, err)
		}
	}
}
