package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// replicaWait bounds the wait for every node to serve every room of a
// run. A cluster's nodes apply its log a moment apart, so a room created
// through one node may be unknown to another for a while (longer while a
// fresh node replays); a socket opened there meanwhile would fail with a
// 404 that says nothing about the node's capacity.
const replicaWait = time.Minute

// replicaPoll spaces the reads of a room a node does not serve yet.
const replicaPoll = 100 * time.Millisecond

// awaitNodes waits until every node serves every room (GET
// /chat/v1/room/{id}/ answers 2xx), reading room j with token(j); with
// one server it returns at once. Every account was registered before the
// first room was created, and a cluster applies its log in order, so a
// node that serves the rooms knows the accounts too.
func (e *environment) awaitNodes(ctx context.Context, rooms []int64, token func(j int) string) error {
	if !e.multiNode() {
		return nil
	}
	t0 := time.Now()
	n := len(e.nodes)
	var mu sync.Mutex
	var late []string
	deadline := time.Now().Add(replicaWait)
	forEach(ctx, len(rooms)*n, e.cfg.Concurrency, func(ctx context.Context, k int) {
		j, nd := k/n, e.nodes[k%n]
		path := "/chat/v1/room/" + strconv.FormatInt(rooms[j], 10) + "/"
		for {
			_, err := nd.rest.call(ctx, http.MethodGet, path, token(j), nil, nil)
			if err == nil {
				return
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				mu.Lock()
				late = append(late, fmt.Sprintf("room %d on %s: %v", rooms[j], nd.Name, err))
				mu.Unlock()
				return
			}
			select {
			case <-time.After(replicaPoll):
			case <-ctx.Done():
			}
		}
	})
	if len(late) > 0 {
		return fmt.Errorf("bench: %d (room, node) pairs not served after %s, first: %s", len(late), replicaWait, late[0])
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench: wait for the nodes: %w", err)
	}
	e.log.Info("every node serves every room", slog.Int("rooms", len(rooms)), slog.Int("nodes", n), slog.Duration("wait", time.Since(t0)))
	return nil
}
