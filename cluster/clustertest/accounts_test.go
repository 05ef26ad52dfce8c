package clustertest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAccountsAndRoomsAcrossNodes uses one account and one room through
// every node of three: an account registered on one node logs in on
// another, a room created on a third is listed and read on the first, an
// email and a post are unique cluster-wide, and a refresh token revoked
// on one node is refused on another.
//
// A node answers a write once it has applied it; the other nodes apply
// it at the same time, but a read there is not synced with the log, so a
// read sent to another node at once may miss the write for a moment
// (replicaLag, logged when seen). Uniqueness is decided in the log and
// the revocation is checked at once: neither waits.
func TestAccountsAndRoomsAcrossNodes(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]

	email := uniqueEmail("alice")
	alice := register(t, n1, email, "alice")
	var tokens struct{ Access, Refresh string }
	eventually(t, "node2 logs in the account registered on node1", func() (reply, error) {
		return call(n2, "POST", "/user/v1/login/", "", map[string]string{"email": email, "password": testPassword})
	}, 200, &tokens)
	alice.Access, alice.Refresh = tokens.Access, tokens.Refresh

	post := time.Now().UnixNano() % 1e9
	var created room
	mustCall(t, n3, "POST", "/chat/v1/room/", alice.Access, map[string]any{"name": "across", "post": post}, 201, &created)
	if created.Owner != alice.ID {
		t.Fatalf("room owner %d, want %d", created.Owner, alice.ID)
	}
	var detail room
	eventually(t, "node1 reads the room created on node3", func() (reply, error) {
		return call(n1, "GET", fmt.Sprintf("/chat/v1/room/%d/", created.ID), alice.Access, nil)
	}, 200, &detail)
	var listed []room
	mustCall(t, n1, "GET", "/chat/v1/room/", alice.Access, nil, 200, &listed)
	if !slices.ContainsFunc(listed, func(r room) bool { return r.ID == created.ID && r.Name == "across" }) {
		t.Fatalf("node1 lists %+v, without room %d created on node3", listed, created.ID)
	}
	if detail.ID != created.ID || detail.Name != "across" || detail.Post == nil || *detail.Post != post {
		t.Fatalf("node1 reads room %+v, want %+v", detail, created)
	}

	// Uniqueness is the cluster's: the same email (cased otherwise) and
	// the same post, each through another node.
	r, err := call(n2, "POST", "/user/v1/register/", "", registerBody(strings.ToUpper(email), "alice2"))
	if err != nil {
		t.Fatal(err)
	}
	expectJSON(t, "the email again on node2", r, 400, `{"email": ["A user is already registered with this e-mail address."]}`)
	r, err = call(n2, "POST", "/chat/v1/room/", alice.Access, map[string]any{"name": "again", "post": post})
	if err != nil {
		t.Fatal(err)
	}
	expectJSON(t, "the post again on node2", r, 400, `{"post": ["room with this post already exists."]}`)

	// Logged out on node1, refused on node2.
	var refreshed struct{ Access string }
	mustCall(t, n2, "POST", "/user/v1/token/refresh/", "", map[string]string{"refresh": alice.Refresh}, 200, &refreshed)
	mustCall(t, n1, "POST", "/user/v1/logout/", alice.Access, map[string]string{"refresh": alice.Refresh}, 200, nil)
	r, err = call(n2, "POST", "/user/v1/token/refresh/", "", map[string]string{"refresh": alice.Refresh})
	if err != nil {
		t.Fatal(err)
	}
	expectJSON(t, "refresh on node2 after logout on node1", r, 401, `{"detail": "Token is blacklisted", "code": "token_not_valid"}`)
}

// replicaLag bounds how long a write answered by one node may stay
// unseen by reads on another.
const replicaLag = 3 * time.Second

// eventually repeats the read do until it answers want (decoded into
// out), for at most replicaLag; it logs when the first answer was stale.
func eventually(t testing.TB, what string, do func() (reply, error), want int, out any) {
	t.Helper()
	began := time.Now()
	for try := 0; ; try++ {
		r, err := do()
		if err == nil && r.status == want {
			if try > 0 {
				t.Logf("%s: stale for %s (%d reads)", what, time.Since(began).Round(time.Microsecond), try)
			}
			if out != nil {
				if err := json.Unmarshal(r.body, out); err != nil {
					t.Fatalf("%s: %v: %s", what, err, r.body)
				}
			}
			return
		}
		if time.Since(began) > replicaLag {
			t.Fatalf("%s: %d %s (%v) after %s, want %d", what, r.status, r.body, err, replicaLag, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
