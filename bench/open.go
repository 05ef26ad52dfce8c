package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/fasthttp/websocket"
)

// opens accounts for the socket opens of a run.
type opens struct {
	lat   *lockedHist
	fails tally
}

// open opens one socket to room on node nd as the user with token,
// counting it.
func (e *environment) open(ctx context.Context, o *opens, nd *node, room int64, token string) (*websocket.Conn, error) {
	return e.openURL(ctx, o, nd, socketURL(nd.wsBase, room, token, e.events), "room "+strconv.FormatInt(room, 10))
}

// openURL opens the socket at u on node nd (what names it in errors),
// counting it in the run's and the node's counts.
func (e *environment) openURL(ctx context.Context, o *opens, nd *node, u, what string) (*websocket.Conn, error) {
	return e.openCounted(ctx, o, nd, func(ctx context.Context) (*websocket.Conn, error) { return openSocket(ctx, nd.ws, u, what) })
}

// openCounted opens a socket on node nd with open, counting it in the
// run's and the node's counts.
func (e *environment) openCounted(ctx context.Context, o *opens, nd *node, open func(context.Context) (*websocket.Conn, error)) (*websocket.Conn, error) {
	t0 := time.Now()
	c, err := open(ctx)
	if err != nil && ended(ctx) {
		return nil, err // cut short by the end of the run: not the server's failure
	}
	if err != nil {
		e.c.connsFailed.Add(1)
		nd.c.failed.Add(1)
		o.fails.add(failReason(err))
		return nil, err
	}
	o.lat.record(time.Since(t0))
	e.c.connsOK.Add(1)
	e.c.connsLive.Add(1)
	nd.c.ok.Add(1)
	nd.c.live.Add(1)
	return c, nil
}

// connStats summarises the opens of a run that tried attempted sockets
// and spent openTime opening them.
func (e *environment) connStats(o *opens, attempted int64, openTime time.Duration) ConnStats {
	ok := e.c.connsOK.Load()
	cs := ConnStats{
		Attempted:   attempted,
		OK:          ok,
		Failed:      e.c.connsFailed.Load(),
		Failures:    o.fails.snapshot(),
		OpenLatency: o.lat.stats(),
	}
	if s := openTime.Seconds(); s > 0 {
		cs.PerSec = round3(float64(ok) / s)
	}
	return cs
}

// fdLimitNote says, in words, when the open-files limit rather than memory
// or the server capped a run.
func (e *environment) fdLimitNote(cs ConnStats) string {
	n := cs.Failures[reasonFDLimit]
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("RLIMIT_NOFILE capped this run, not memory: %d opens failed with %q "+
		"(soft limit %d, hard %d); spread sockets over processes (capacity) or raise the hard limit",
		n, reasonFDLimit, e.limit.Soft, e.limit.Hard)
}

// ended reports whether ctx is done or past its deadline: a socket
// deadline taken from ctx can fire a moment before ctx itself is done.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
