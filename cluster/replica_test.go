package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// replicas starts a store replica on each node.
func replicas(t *testing.T, nodes []*Node) []*persistence.Store {
	t.Helper()
	stores := make([]*persistence.Store, len(nodes))
	for i, n := range nodes {
		st, err := persistence.Open(persistence.Config{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, err := n.Replicate(context.Background(), st); err != nil {
			t.Fatalf("replicate on %s: %v", n.cfg.Node, err)
		}
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
