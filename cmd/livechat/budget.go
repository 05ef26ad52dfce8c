package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/dustin/go-humanize"

	"livechat/persistence"
)

// memoryBudget divides what `--memory-budget` allows among the components
// that keep memory: the store (Badger's memtables and caches, decoded users
// and rooms) half, the rooms' recent messages an eighth, verified tokens a
// sixty-fourth; the rest is the working heap (requests in flight, actors'
// mailboxes, room members) and the garbage collector's headroom. Sockets
// cost perSocketBytes each on top. Part of the store's half, mapped, is
// pages of Badger's files mapped from disk rather than Go memory.
type memoryBudget struct {
	total, store, recent, tokens, mapped int64
}

// minMemoryBudget is the smallest budget accepted: the store's half must
// reach persistence.MinMemoryBudget.
const minMemoryBudget = 2 * persistence.MinMemoryBudget

// perSocketBytes is the measured memory of an open socket (9.7–10.2 KiB of
// server RSS per idle socket in the README's capacity runs), rounded up.
const perSocketBytes = 10 << 10

// parseMemoryBudget reads a size such as 512MiB, 1GiB, 600MB or a number of
// bytes.
func parseMemoryBudget(s string) (memoryBudget, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return memoryBudget{}, fmt.Errorf("memory budget %q: want a size such as 512MiB or 1GiB", s)
	}
	if n < minMemoryBudget || n > math.MaxInt64/2 {
		return memoryBudget{}, fmt.Errorf("memory budget %q: at least %s", s, humanize.IBytes(minMemoryBudget))
	}
	total := int64(n)
	store := total / 2
	return memoryBudget{total: total, store: store, recent: total / 8, tokens: total / 64, mapped: persistence.MappedShare(store)}, nil
}

// softLimit is the Go runtime's memory limit for a server with conns open
// sockets: the budget but the share of Badger's mapped files, which the
// runtime does not see (they count in RSS, not in its heap), plus the
// sockets.
func (b memoryBudget) softLimit(conns int) int64 {
	return b.total - b.mapped + int64(conns)*perSocketBytes
}

// keepMemoryLimit sets the Go runtime's soft memory limit to the budget
// (less the mapped files' share) plus the open sockets' cost, following the socket count until ctx ends,
// so that the garbage collector works harder before the heap passes what
// the budget promised rather than after. A GOMEMLIMIT in the environment
// is the operator's choice and is left alone.
func keepMemoryLimit(ctx context.Context, b memoryBudget, conns func() int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	last := b.softLimit(conns())
	debug.SetMemoryLimit(last)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if l := b.softLimit(conns()); l != last {
					debug.SetMemoryLimit(l)
					last = l
				}
			}
		}
	}()
}
