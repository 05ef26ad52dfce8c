package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// joinRooms makes every user that has a socket in a room a member of it
// (POST /chat/v1/room/{id}/members/ with its own id): read markers are
// kept for members only, and a public room's sockets are not members by
// themselves. Socket i is in room i/Members as user i%len(users), as
// openAll opens them.
func (e *environment) joinRooms(ctx context.Context, users []account, rooms []int64, sockets int) error {
	type pair struct{ user, room int }
	seen := map[pair]bool{}
	var pairs []pair
	for i := range sockets {
		p := pair{i % len(users), i / e.cfg.Members}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	errs := make([]error, len(pairs))
	forEach(ctx, len(pairs), e.cfg.Concurrency, func(ctx context.Context, i int) {
		u, room := users[pairs[i].user], rooms[pairs[i].room]
		path := "/chat/v1/room/" + strconv.FormatInt(room, 10) + "/members/"
		rest := e.node(i).rest
		errs[i] = retry(ctx, func() (int, error) {
			return rest.call(ctx, http.MethodPost, path, u.Token, map[string]int64{"user": u.ID}, nil)
		})
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: join the rooms (--read needs memberships): %w", err)
	}
	return ctx.Err()
}

// layout is the rooms of the inbox scenario: each room's members (user
// indexes, the creator first) and each user's rooms (room indexes).
type layout struct {
	members   [][]int
	userRooms [][]int
}

// inboxLayout places cfg.Users users in cfg.RoomsPerUser rooms each.
// Private rooms take their members from the users in turn (room j has
// users jG … jG+G-1, modulo the users), so each user is in RoomsPerUser
// rooms (one more for a few when the counts do not divide), and its
// creator turns with j so that room creations spread over the users.
// Direct rooms pair each user with the next RoomsPerUser/2 users.
func inboxLayout(cfg Config) layout {
	n := cfg.Users
	var l layout
	l.userRooms = make([][]int, n)
	add := func(us []int) {
		j := len(l.members)
		l.members = append(l.members, us)
		for _, u := range us {
			l.userRooms[u] = append(l.userRooms[u], j)
		}
	}
	if cfg.Kind == KindDirect {
		for d := 1; d <= cfg.RoomsPerUser/2; d++ {
			for u := range n {
				add([]int{u, (u + d) % n})
			}
		}
		return l
	}
	g := cfg.Members
	for j := range cfg.Rooms {
		us := make([]int, g)
		for k := range g {
			us[k] = (j*g + (k+j)%g) % n // creator j%g of the block first
		}
		add(us)
	}
	return l
}

// createInboxRooms creates the rooms of l: private rooms with their
// members (POST /chat/v1/room/ with kind and members), or direct rooms
// (POST /chat/v1/room/direct/, by their first member).
func (e *environment) createInboxRooms(ctx context.Context, l layout, users []account) ([]int64, error) {
	ids := make([]int64, len(l.members))
	var mu sync.Mutex
	var errs []error
	forEach(ctx, len(l.members), e.cfg.Concurrency, func(ctx context.Context, j int) {
		us := l.members[j]
		creator := users[us[0]]
		path := "/chat/v1/room/direct/"
		var body any = map[string]int64{"user": users[us[1]].ID}
		if e.cfg.Kind == KindPrivate {
			ids := make([]int64, 0, len(us)-1)
			for _, u := range us[1:] {
				ids = append(ids, users[u].ID)
			}
			path = "/chat/v1/room/"
			body = map[string]any{"name": fmt.Sprintf("bench %s inbox %d", e.runID, j), "kind": KindPrivate, "members": ids}
		}
		var out struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		}
		rest := e.node(j).rest
		err := retry(ctx, func() (int, error) {
			return rest.call(ctx, http.MethodPost, path, creator.Token, body, &out)
		})
		if err == nil && (out.ID <= 0 || out.Kind != e.cfg.Kind) {
			err = fmt.Errorf("room %d: id %d, kind %q in the answer: does the server have %s rooms?", j, out.ID, out.Kind, e.cfg.Kind)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		ids[j] = out.ID
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("bench: create %d of %d %s rooms failed, first: %w", len(errs), len(l.members), e.cfg.Kind, errs[0])
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: create rooms: %w", err)
	}
	return ids, nil
}
