package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// churnSettle is how long churn waits after its last close before reading
// the server's open files, so that its sockets are gone on both sides.
const churnSettle = time.Second

// runChurn runs the churn scenario: Conns loops open a socket, keep it for
// Hold, close it and start again, at Rate opens/s in total, for Duration.
// With the server's pid, its open files before and after show any leak.
func (e *environment) runChurn(ctx context.Context, rep *Report) error {
	users, rooms, err := e.setup(ctx, rep)
	if err != nil {
		return err
	}
	keys := e.newKeyring(users)
	defer keys.stop()
	ph := e.startPhase()
	o := &opens{lat: newLockedHist()}
	start := time.Now()
	stopAt := start.Add(e.cfg.Duration)
	lctx, cancel := context.WithDeadline(ctx, stopAt)
	defer cancel()
	tokens := pace(lctx, e.cfg.Rate)
	var wg sync.WaitGroup
	for w := range e.cfg.Conns {
		wg.Go(func() {
			for lctx.Err() == nil {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						return
					}
				}
				e.churnOnce(lctx, o, e.node(w), rooms[w%len(rooms)], keys.token(w))
			}
		})
	}
	wg.Wait()
	keys.stop()
	rep.TokenRenewals = keys.renewals.Load()
	if note := renewNote(keys.failures.Load()); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	elapsed := time.Since(start)
	time.Sleep(churnSettle)
	ph.stop(rep)
	rep.Conns = e.connStats(o, e.c.connsOK.Load()+e.c.connsFailed.Load(), elapsed)
	o.lat.mu.Lock()
	rep.Distribution = distribution(o.lat.h)
	o.lat.mu.Unlock()
	if note := e.fdLimitNote(rep.Conns); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	if s := rep.Server; s != nil && s.FDsEnd > s.FDsStart+10 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the server holds %d more open files after churn than before: a leak?", s.FDsEnd-s.FDsStart))
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return nil
}

// churnOnce opens one socket to nd, reads it for Hold, and closes it.
func (e *environment) churnOnce(ctx context.Context, o *opens, nd *node, room int64, token string) {
	c, err := e.open(ctx, o, nd, room, token)
	if err != nil {
		return
	}
	defer func() { e.c.connsLive.Add(-1); nd.closed(false) }()
	if e.cfg.Hold > 0 {
		_ = c.SetReadDeadline(time.Now().Add(e.cfg.Hold))
		for range 10_000 { // bounded: a hold sees a few presence frames
			if _, _, err := c.NextReader(); err != nil {
				break
			}
		}
	}
	closeSocket(c)
}

// pace returns a channel that yields rate values per second until ctx
// ends, then closes; nil when rate is not positive (no pacing).
func pace(ctx context.Context, rate float64) <-chan struct{} {
	if rate <= 0 {
		return nil
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		t := time.NewTicker(interval(rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case ch <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch
}
