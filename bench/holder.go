package bench

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// held is a set of idle sockets kept open by the capacity scenario, each
// with a reader that answers the server's pings and discards frames.
type held struct {
	e        *environment
	mu       sync.Mutex
	conns    []*wsock
	stopping atomic.Bool
	drops    tally
	readers  sync.WaitGroup
	openTime time.Duration
}

// hold opens count sockets, numbered from offset, spread round-robin over
// rooms, the accounts of keys and the nodes, Concurrency at a time, and keeps them
// open until release (or until deadline, after which their readers give
// up); keys renews their tokens meanwhile.
func (e *environment) hold(ctx context.Context, o *opens, rooms []int64, keys *keyring, offset, count int, deadline time.Time) *held {
	h := &held{e: e}
	t0 := time.Now()
	forEach(ctx, count, e.cfg.Concurrency, func(ctx context.Context, i int) {
		i += offset
		tok, nd := keys.token(i), e.node(i)
		c, err := e.open(ctx, o, nd, rooms[i%len(rooms)], tok)
		if err != nil {
			e.log.Debug("open failed", slog.Any("err", err))
			return
		}
		s := &wsock{Conn: c}
		h.mu.Lock()
		h.conns = append(h.conns, s)
		h.mu.Unlock()
		h.readers.Go(func() { h.idle(c, nd, deadline) })
		keys.attach(i, s, tok)
	})
	h.openTime = time.Since(t0)
	return h
}

// idle reads c, open to node nd, until it closes, counting a close that
// release did not ask for.
func (h *held) idle(c *websocket.Conn, nd *node, deadline time.Time) {
	dropped := false
	defer func() { h.e.c.connsLive.Add(-1); nd.closed(dropped) }()
	_ = c.SetReadDeadline(deadline)
	for {
		_, rd, err := c.NextReader()
		if err == nil {
			_, err = io.Copy(io.Discard, rd)
		}
		if err != nil {
			if !h.stopping.Load() {
				dropped = true
				h.e.c.dropped.Add(1)
				h.drops.add(failReason(err))
			}
			return
		}
	}
}

// release closes every socket and waits for the readers.
func (h *held) release() {
	h.stopping.Store(true)
	h.mu.Lock()
	conns := h.conns
	h.mu.Unlock()
	forEach(context.Background(), len(conns), 64, func(_ context.Context, i int) { closeSocket(conns[i].Conn) })
	h.readers.Wait()
}
