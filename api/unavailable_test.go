package api

import (
	"fmt"
	"testing"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// unreachableLog is a cluster's log that no write reaches: the fault a
// node cut off from its cluster's quorum sees (cluster.Replica answers
// persistence.ErrUnavailable after its timeout).
type unreachableLog struct{}

func (unreachableLog) Propose(*pb.Command) (any, error) {
	return nil, fmt.Errorf("%w: no quorum (test)", persistence.ErrUnavailable)
}
func (unreachableLog) Sync() error { return nil }

// TestWritesWithoutQuorumAnswer503 checks that a write the cluster's log
// cannot take is answered 503 in the usual {"detail"} shape, whichever
// path reaches the store (through the engine or directly), never 500.
func TestWritesWithoutQuorumAnswer503(t *testing.T) {
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "before", 0)
	ts.store.Replicate(unreachableLog{})

	const want = `{"detail":"Service temporarily unavailable, try again."}`
	for _, r := range []req{
		{Method: "POST", Path: "/user/v1/register/", Body: registerBody(uniqueEmail("late"), "late")},
		{Method: "POST", Path: "/user/v1/logout/", Body: map[string]string{"refresh": u.Refresh}},
		{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Body: map[string]any{"name": "after"}},
		{Method: "PATCH", Path: "/user/v1/profile/", Token: u.Access, Body: map[string]any{"nickname": "renamed"}},
		{Method: "POST", Path: fmt.Sprintf("/chat/v1/room/%d/members/", room.ID), Token: u.Access, Body: map[string]any{"user": u.ID}},
	} {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			res, err := ts.send(r) // an error for every 5xx, with the response
			if res == nil {
				t.Fatal(err)
			}
			expectBody(t, res, 503, want)
		})
	}
}
