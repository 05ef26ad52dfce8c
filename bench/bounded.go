package bench

import (
	"context"
	"sync"
)

// forEach calls fn(ctx, i) for i in [0, n) on at most conc goroutines and
// returns once every call has returned. It stops starting new calls when
// ctx is done; fn sees the same ctx and must honour it.
func forEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int)) {
	conc = max(1, min(conc, n))
	next := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				fn(ctx, i)
			}
		})
	}
	defer wg.Wait()
	defer close(next)
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return
		}
	}
}
