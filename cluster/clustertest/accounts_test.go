package clustertest

import (
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
func TestAccountsAndRoomsAcrossNodes(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]

	email := uniqueEmail("alice")
	alice := register(t, n1, email, "alice")
	login(t, n2, alice)

	post := time.Now().UnixNano() % 1e9
	var created room
	mustCall(t, n3, "POST", "/chat/v1/room/", alice.Access, map[string]any{"name": "across", "post": post}, 201, &created)
	if created.Owner != alice.ID {
		t.Fatalf("room owner %d, want %d", created.Owner, alice.ID)
	}
	var listed []room
	mustCall(t, n1, "GET", "/chat/v1/room/", alice.Access, nil, 200, &listed)
	if !slices.ContainsFunc(listed, func(r room) bool { return r.ID == created.ID && r.Name == "across" }) {
		t.Fatalf("node1 lists %+v, without room %d created on node3", listed, created.ID)
	}
	var detail room
	mustCall(t, n1, "GET", fmt.Sprintf("/chat/v1/room/%d/", created.ID), alice.Access, nil, 200, &detail)
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
