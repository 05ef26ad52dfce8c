package bench

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// warmTimeout bounds the wait for every member to receive the warm-up.
const warmTimeout = 10 * time.Second

// member is one open socket of a chat run.
type member struct {
	conn *wsock
	room int
	rcv  *receiver
}

// chatRun is the state of a fanout or many-rooms run: rooms of members,
// some of which send.
type chatRun struct {
	e        *environment
	rooms    []int64
	members  [][]*member // per room; only sockets that opened
	rec      *recorder
	opens    opens
	stopping atomic.Bool
	drops    tally
	sendErrs tally
	sentRoom []atomic.Int64
	warmRoom []atomic.Int64
	readers  sync.WaitGroup
	deadline time.Time // no socket is read after it
	// ex counts typing and receipt frames; typingOn makes sendAll's
	// senders type; phaseRec, when set, records the current phase's
	// latencies; nextN is each sender's next message number.
	ex       extras
	typingOn bool
	phaseRec atomic.Pointer[recorder]
	nextN    []int64
}

// runChat runs the fanout and many-rooms scenarios: the two differ only in
// their defaults (few big rooms with a rising rate, many small rooms).
func (e *environment) runChat(ctx context.Context, rep *Report) error {
	users, rooms, err := e.chatSetup(ctx, rep)
	if err != nil {
		return err
	}
	need := len(rooms) * e.cfg.Members
	if budget := e.limit.socketBudget(); need > budget {
		return fmt.Errorf("bench: %d sockets needed but RLIMIT_NOFILE (soft %d) allows about %d in one process: "+
			"lower --rooms or --members (the capacity scenario spreads sockets over processes)", need, e.limit.Soft, budget)
	}
	cr := &chatRun{
		e: e, rooms: rooms, members: make([][]*member, len(rooms)),
		sentRoom: make([]atomic.Int64, len(rooms)), warmRoom: make([]atomic.Int64, len(rooms)),
		opens:    opens{lat: newLockedHist()},
		deadline: time.Now().Add(2*(e.cfg.Duration+e.cfg.Drain) + 2*warmTimeout + 5*time.Minute),
		nextN:    make([]int64, len(rooms)*e.cfg.Senders),
	}
	cr.ex.readEvery = e.cfg.ReadEvery
	if e.cfg.Read {
		if err := e.joinRooms(ctx, users, rooms, need); err != nil {
			return err
		}
	}
	ph := e.startPhase()
	cr.rec = newRecorder(ph.start, 2*runtime.GOMAXPROCS(0))
	t0 := time.Now()
	keys := e.newKeyring(users)
	defer keys.stop()
	cr.openAll(ctx, keys)
	rep.Conns = e.connStats(&cr.opens, int64(need), time.Since(t0))
	if note := e.fdLimitNote(rep.Conns); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	if n := cr.warmUp(ctx); n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d members had not received the warm-up message after %s", n, warmTimeout))
	}
	ph.markHeld()
	cpu0, cpuOK := ph.serverCPU()
	routes0, bytes0, routesOK := e.routeCounts(ctx)
	sendStart := time.Now()
	var sendTime time.Duration
	var expected int64
	if e.cfg.Typing || e.cfg.Read {
		rep.Extras = cr.sendPhases(ctx, ph)
		sendTime = time.Duration((rep.Extras.Plain.SendSec + rep.Extras.With.SendSec) * float64(time.Second))
		expected = cr.expected()
	} else {
		cr.sendAll(ctx, sendStart)
		sendTime = time.Since(sendStart)
		expected = cr.expected()
		cr.drain(ctx, expected)
	}
	deliverTime := time.Since(sendStart)
	keys.stop()
	rep.TokenRenewals = keys.renewals.Load()
	if note := renewNote(keys.failures.Load()); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	cpu1, cpuOK1 := ph.serverCPU()
	routes1, bytes1, routesOK1 := e.routeCounts(ctx)
	cr.stop()
	ph.stop(rep)
	cr.report(rep, expected, sendTime, deliverTime)
	if routesOK && routesOK1 {
		interNode(rep, routes0, bytes0, routes1, bytes1)
	}
	e.nodeDeliveries(rep, cr.shares())
	if x := rep.Extras; x != nil {
		cr.ex.finish(x)
		rep.Notes = append(rep.Notes, x.notes()...)
	}
	if s, m := rep.Server, rep.Messages; s != nil && cpuOK && cpuOK1 {
		s.LoadCPUSeconds = round3((cpu1 - cpu0).Seconds())
		if m.Received > 0 {
			s.CPUMsPer1kDeliveries = round3(1e6 * (cpu1 - cpu0).Seconds() / float64(m.Received))
		}
	}
	return ctx.Err()
}

// chatSetup registers the users and creates the rooms of a chat run; a
// peer server needs neither.
func (e *environment) chatSetup(ctx context.Context, rep *Report) ([]account, []int64, error) {
	if e.cfg.Peer != "" {
		return nil, peerRooms(e.cfg.Rooms), nil
	}
	return e.setup(ctx, rep)
}

// openMember opens a member socket to room on node nd.
func (e *environment) openMember(ctx context.Context, o *opens, nd *node, room int64, token string) (*wsock, error) {
	if e.cfg.Peer == PeerCentrifugo {
		c, err := e.openCentrifugo(ctx, o, nd, room)
		if err != nil {
			return nil, err
		}
		return &wsock{Conn: c, pub: newPublisher(centrifugoChannel(e.runID, room))}, nil
	}
	c, err := e.open(ctx, o, nd, room, token)
	if err != nil {
		return nil, err
	}
	return &wsock{Conn: c}, nil
}

// openAll opens every member socket, Concurrency at a time, and starts its
// receiver as soon as it is open; keys renews their tokens.
func (cr *chatRun) openAll(ctx context.Context, keys *keyring) {
	e, per := cr.e, cr.e.cfg.Members
	var mu sync.Mutex
	forEach(ctx, len(cr.rooms)*per, e.cfg.Concurrency, func(ctx context.Context, i int) {
		r := i / per
		tok, nd := keys.token(i), e.node(i) // a room's members span the nodes
		ws, err := e.openMember(ctx, &cr.opens, nd, cr.rooms[r], tok)
		if err != nil {
			e.log.Debug("open failed", slog.Int("room", r), slog.Any("err", err))
			return
		}
		m := &member{conn: ws, room: r}
		m.rcv = &receiver{
			conn: ws.Conn, nd: nd, tr: newTracker(r, e.cfg.Senders), shard: i, rec: cr.rec, c: &e.c,
			stopping: &cr.stopping, drops: &cr.drops, onWarm: func() { cr.warmRoom[r].Add(1) },
			ex: &cr.ex, ws: m.conn, phase: &cr.phaseRec, peer: e.cfg.Peer != "",
		}
		mu.Lock()
		cr.members[r] = append(cr.members[r], m)
		mu.Unlock()
		cr.readers.Go(func() { m.rcv.run(cr.deadline) })
		keys.attach(i, m.conn, tok)
	})
}

// warmUp sends one warm-up message per room and waits until every member
// has it (or warmTimeout). It returns how many members did not get it.
func (cr *chatRun) warmUp(ctx context.Context) int {
	total := 0
	for r, ms := range cr.members {
		total += len(ms)
		if len(ms) == 0 {
			continue
		}
		msg := fmt.Sprintf(`{"type":"chat.message","message":"%s%s:%d"}`, warmPrefix, cr.e.runID, r)
		if err := ms[0].conn.write([]byte(msg)); err != nil {
			cr.e.log.Warn("warm-up send failed", slog.Int("room", r), slog.Any("err", err))
		}
	}
	warmed := func() int {
		n := 0
		for r := range cr.warmRoom {
			n += int(cr.warmRoom[r].Load())
		}
		return n
	}
	waitFor(ctx, warmTimeout, func() bool { return warmed() >= total })
	return total - warmed()
}

// sendAll runs the senders of every room until Duration has passed.
func (cr *chatRun) sendAll(ctx context.Context, start time.Time) {
	cfg := cr.e.cfg
	sched := schedule{from: cfg.Rate, to: cfg.RateMax, over: cfg.Duration}
	stopAt := start.Add(cfg.Duration)
	nSenders := len(cr.rooms) * cfg.Senders
	var wg sync.WaitGroup
	for r, ms := range cr.members {
		for k := 0; k < cfg.Senders && k < len(ms); k++ {
			id := r*cfg.Senders + k
			s := &sender{
				conn: ms[k].conn, id: id, runID: cr.e.runID, size: cfg.MsgSize, sched: sched,
				offset: time.Duration(float64(interval(cfg.Rate)) * float64(id) / float64(nSenders)),
				onSent: func() { cr.sentRoom[r].Add(1); cr.e.c.sent.Add(1) },
				onErr:  func(err error) { cr.sendErrs.add(failReason(err)) },
				next:   cr.nextN[id], typing: cr.typingOn,
				onTyping: func() { cr.ex.typingSent.Add(1) },
			}
			wg.Go(func() {
				s.run(ctx, start, stopAt)
				cr.nextN[id] = s.next
			})
		}
	}
	wg.Wait()
}

// expected is the number of deliveries due: every message goes to every
// member of its room, the sender included.
func (cr *chatRun) expected() int64 {
	var n int64
	for r, ms := range cr.members {
		n += cr.sentRoom[r].Load() * int64(len(ms))
	}
	return n
}

// drain waits until every expected delivery arrived or Drain has passed.
func (cr *chatRun) drain(ctx context.Context, expected int64) {
	waitFor(ctx, cr.e.cfg.Drain, func() bool { return cr.e.c.received.Load() >= expected })
}

// stop closes every socket and waits for the receivers to finish.
func (cr *chatRun) stop() {
	cr.stopping.Store(true)
	var all []*member
	for _, ms := range cr.members {
		all = append(all, ms...)
	}
	forEach(context.Background(), len(all), 64, func(_ context.Context, i int) { closeSocket(all[i].conn.Conn) })
	cr.readers.Wait()
}

// waitFor polls cond every 20 ms until it holds, timeout passes or ctx ends.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
