package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// errNotSent is a message the server refused (a REST post's error status,
// counted in the report's send errors): its sender goes on with the next.
var errNotSent = errors.New("bench: message not sent")

// inboxRun is the state of an inbox run: users in private or direct
// rooms, each with an inbox socket and room sockets on some of its rooms.
type inboxRun struct {
	e         *environment
	l         layout
	rooms     []int64
	users     []account
	inboxes   []*member   // per user; nil when its inbox socket did not open
	roomSocks [][]*member // per room: the room sockets that opened
	rec       *recorder   // room sockets' chat.message latencies
	inboxRec  *recorder   // inbox sockets' inbox.message latencies
	opens     opens
	mu        sync.Mutex
	stopping  atomic.Bool
	drops     tally
	sendErrs  tally
	sentRoom  []atomic.Int64
	warmRoom  []atomic.Int64 // per room: sockets that have its warm-up
	roomRecv  atomic.Int64
	inboxRecv atomic.Int64
	readers   sync.WaitGroup
	deadline  time.Time
}

// roomSocketCount is how many of a user's n rooms get a room socket.
func roomSocketCount(share float64, n int) int {
	if share <= 0 {
		return 0
	}
	return min(int(math.Round(share*float64(n))), n)
}

// runInbox runs the inbox scenario.
func (e *environment) runInbox(ctx context.Context, rep *Report) error {
	cfg := e.cfg
	t0 := time.Now()
	users, err := e.setupUsers(ctx, cfg.Users)
	if err != nil {
		return err
	}
	l := inboxLayout(cfg)
	rooms, err := e.createInboxRooms(ctx, l, users)
	if err != nil {
		return err
	}
	if err := e.awaitNodes(ctx, rooms, func(j int) string { return users[l.members[j][0]].Token }); err != nil {
		return err
	}
	rep.SetupSec = round3(time.Since(t0).Seconds())
	type roomSock struct{ user, room int }
	var plan []roomSock
	for u, rs := range l.userRooms {
		for _, j := range rs[:roomSocketCount(cfg.RoomSockets, len(rs))] {
			plan = append(plan, roomSock{u, j})
		}
	}
	need := len(users) + len(plan)
	if budget := e.limit.socketBudget(); need > budget {
		return fmt.Errorf("bench: %d sockets needed but RLIMIT_NOFILE (soft %d) allows about %d in one process: "+
			"lower --users, --rooms-per-user or --room-sockets", need, e.limit.Soft, budget)
	}
	ir := &inboxRun{
		e: e, l: l, rooms: rooms, users: users,
		inboxes: make([]*member, len(users)), roomSocks: make([][]*member, len(rooms)),
		sentRoom: make([]atomic.Int64, len(rooms)), warmRoom: make([]atomic.Int64, len(rooms)), opens: opens{lat: newLockedHist()},
		deadline: time.Now().Add(cfg.Duration + cfg.Drain + 2*warmTimeout + 5*time.Minute),
	}
	ph := e.startPhase()
	ir.rec = newRecorder(ph.start, 2*runtime.GOMAXPROCS(0))
	ir.inboxRec = newRecorder(ph.start, 2*runtime.GOMAXPROCS(0))
	keys := e.newKeyring(users)
	defer keys.stop()
	t1 := time.Now()
	forEach(ctx, need, cfg.Concurrency, func(ctx context.Context, i int) {
		if i < len(users) {
			ir.openInbox(ctx, keys, i)
			return
		}
		p := plan[i-len(users)]
		ir.openRoom(ctx, keys, p.user, p.room)
	})
	rep.Conns = e.connStats(&ir.opens, int64(need), time.Since(t1))
	if note := e.fdLimitNote(rep.Conns); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	if n := ir.warmUp(ctx); n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d (socket, room) pairs had not received the warm-up message after %s", n, warmTimeout))
	}
	ph.markHeld()
	cpu0, cpuOK := ph.serverCPU()
	sendStart := time.Now()
	ir.sendAll(ctx, sendStart)
	sendTime := time.Since(sendStart)
	expRoom, expInbox := ir.expected()
	waitFor(ctx, cfg.Drain, func() bool { return ir.roomRecv.Load() >= expRoom && ir.inboxRecv.Load() >= expInbox })
	deliverTime := time.Since(sendStart)
	keys.stop()
	rep.TokenRenewals = keys.renewals.Load()
	if note := renewNote(keys.failures.Load()); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	cpu1, cpuOK1 := ph.serverCPU()
	ir.stop()
	ph.stop(rep)
	ir.report(rep, expRoom, expInbox, sendTime, deliverTime)
	e.nodeDeliveries(rep, ir.shares())
	if s := rep.Server; s != nil && cpuOK && cpuOK1 {
		s.LoadCPUSeconds = round3((cpu1 - cpu0).Seconds())
		if n := rep.Messages.Received + rep.Inbox.Received; n > 0 {
			s.CPUMsPer1kDeliveries = round3(1e6 * (cpu1 - cpu0).Seconds() / float64(n))
		}
	}
	return ctx.Err()
}

// openInbox opens user u's inbox socket and starts its receiver.
func (ir *inboxRun) openInbox(ctx context.Context, keys *keyring, u int) {
	e := ir.e
	tok, nd := keys.token(u), e.node(u)
	c, err := e.openURL(ctx, &ir.opens, nd, inboxURL(nd.wsBase, tok), "inbox of user "+strconv.Itoa(u))
	if err != nil {
		e.log.Debug("open failed", slog.Int("user", u), slog.Any("err", err))
		return
	}
	m := &member{conn: &wsock{Conn: c}, room: -1}
	m.rcv = &receiver{
		conn: c, nd: nd, tr: newTracker(-1, 0), shard: u, rec: ir.inboxRec, c: &e.c,
		stopping: &ir.stopping, drops: &ir.drops, received: &ir.inboxRecv,
		inbox: map[int64]*inboxRoom{}, onWarmRoom: func(j int) { ir.warmRoom[j].Add(1) },
	}
	for _, j := range ir.l.userRooms[u] {
		m.rcv.inbox[ir.rooms[j]] = &inboxRoom{room: j, tr: newTracker(j, 1)}
	}
	ir.mu.Lock()
	ir.inboxes[u] = m
	ir.mu.Unlock()
	ir.readers.Go(func() { m.rcv.run(ir.deadline) })
	keys.attach(u, m.conn, tok)
}

// openRoom opens user u's socket on room j and starts its receiver.
func (ir *inboxRun) openRoom(ctx context.Context, keys *keyring, u, j int) {
	e := ir.e
	tok, nd := keys.token(u), e.node(u+j+1) // not the node of u's inbox socket
	c, err := e.open(ctx, &ir.opens, nd, ir.rooms[j], tok)
	if err != nil {
		e.log.Debug("open failed", slog.Int("room", j), slog.Any("err", err))
		return
	}
	m := &member{conn: &wsock{Conn: c}, room: j}
	m.rcv = &receiver{
		conn: c, nd: nd, tr: newTracker(j, 1), shard: u, rec: ir.rec, c: &e.c,
		stopping: &ir.stopping, drops: &ir.drops, received: &ir.roomRecv,
		onWarm: func() { ir.warmRoom[j].Add(1) },
	}
	ir.mu.Lock()
	ir.roomSocks[j] = append(ir.roomSocks[j], m)
	ir.mu.Unlock()
	ir.readers.Go(func() { m.rcv.run(ir.deadline) })
	keys.attach(u, m.conn, tok)
}

// post sends message text to room j as user u over REST.
func (ir *inboxRun) post(ctx context.Context, u, j int, text []byte, clientID []byte) error {
	body, _ := json.Marshal(map[string]any{"room": ir.rooms[j], "message": string(text), "client_id": string(clientID)})
	rest := ir.e.node(u + j).rest // posts of a room go round the nodes as its members take turns
	return retry(ctx, func() (int, error) {
		return rest.call(ctx, http.MethodPost, "/chat/v1/message/", ir.users[u].Token, json.RawMessage(body), nil)
	})
}

// warmUp posts one warm-up message per room and waits until every open
// socket has one for each of its rooms, posting again, once a second, in
// the rooms some socket still lacks (the server may count a socket a
// moment after its handshake, and the inbox socket replays nothing). It
// returns how many (socket, room) pairs had none after warmTimeout.
func (ir *inboxRun) warmUp(ctx context.Context) int {
	want := make([]int64, len(ir.rooms))
	for j, us := range ir.l.members {
		want[j] = int64(len(ir.roomSocks[j]))
		for _, u := range us {
			if ir.inboxes[u] != nil {
				want[j]++
			}
		}
	}
	missing := func() (rooms []int, pairs int) {
		for j := range want {
			if n := want[j] - ir.warmRoom[j].Load(); n > 0 {
				rooms, pairs = append(rooms, j), pairs+int(n)
			}
		}
		return rooms, pairs
	}
	deadline := time.Now().Add(warmTimeout)
	for round := 0; ; round++ {
		rooms, pairs := missing()
		if pairs == 0 || ctx.Err() != nil || time.Now().After(deadline) {
			return pairs
		}
		forEach(ctx, len(rooms), ir.e.cfg.Concurrency, func(ctx context.Context, i int) {
			j := rooms[i]
			text := []byte(warmPrefix + ir.e.runID + ":" + strconv.Itoa(j) + ":" + strconv.Itoa(round))
			if err := ir.post(ctx, ir.l.members[j][0], j, text, text); err != nil {
				ir.e.log.Warn("warm-up post failed", slog.Int("room", j), slog.Any("err", err))
			}
		})
		waitFor(ctx, min(time.Second, time.Until(deadline)), func() bool { _, n := missing(); return n == 0 })
	}
}

// sendAll posts messages over REST until Duration has passed: each room
// has its own sender at Rate/rooms msgs/s, and its members post in turn.
func (ir *inboxRun) sendAll(ctx context.Context, start time.Time) {
	cfg := ir.e.cfg
	perRoom := cfg.Rate / float64(len(ir.rooms))
	stopAt := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for j := range ir.rooms {
		us := ir.l.members[j]
		s := &sender{
			id: j, runID: ir.e.runID, size: cfg.MsgSize, sched: schedule{from: perRoom},
			offset: time.Duration(float64(interval(perRoom)) * float64(j) / float64(len(ir.rooms))),
			onSent: func() { ir.sentRoom[j].Add(1); ir.e.c.sent.Add(1) },
			onErr:  func(err error) { ir.sendErrs.add(failReason(err)) },
		}
		var text, cid []byte
		s.post = func(p payload) error {
			text = appendPayload(text[:0], p, cfg.MsgSize)
			cid = appendClientID(cid[:0], ir.e.runID, p)
			if err := ir.post(ctx, us[int(p.n)%len(us)], j, text, cid); err != nil {
				if ctx.Err() == nil {
					ir.sendErrs.add(postFailReason(err))
				}
				return errNotSent
			}
			return nil
		}
		wg.Go(func() { s.run(ctx, start, stopAt) })
	}
	wg.Wait()
}

// postFailReason classifies a failed REST post for the report.
func postFailReason(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		return "http " + strconv.Itoa(se.code)
	}
	return failReason(err)
}

// expected returns the deliveries due on room sockets (every socket of a
// room gets each of its messages) and on inbox sockets (every member of a
// room with an inbox socket open, the sender included).
func (ir *inboxRun) expected() (room, inbox int64) {
	for j, us := range ir.l.members {
		sent := ir.sentRoom[j].Load()
		room += sent * int64(len(ir.roomSocks[j]))
		for _, u := range us {
			if ir.inboxes[u] != nil {
				inbox += sent
			}
		}
	}
	return room, inbox
}

// stop closes every socket and waits for the receivers to finish.
func (ir *inboxRun) stop() {
	ir.stopping.Store(true)
	all := ir.sockets()
	forEach(context.Background(), len(all), 64, func(_ context.Context, i int) { closeSocket(all[i].conn.Conn) })
	ir.readers.Wait()
}

// sockets lists every open socket, inbox sockets first.
func (ir *inboxRun) sockets() []*member {
	var all []*member
	for _, m := range ir.inboxes {
		if m != nil {
			all = append(all, m)
		}
	}
	for _, ms := range ir.roomSocks {
		all = append(all, ms...)
	}
	return all
}

// report fills the message figures (room sockets) and the inbox figures.
func (ir *inboxRun) report(rep *Report, expRoom, expInbox int64, sendTime, deliverTime time.Duration) {
	cfg := ir.e.cfg
	var roomCounts, inboxCounts deliveryCounts
	var nInbox, nRoom int64
	for _, m := range ir.sockets() {
		if m.rcv.inbox != nil {
			inboxCounts.add(m.rcv.counts())
			nInbox++
		} else {
			roomCounts.add(m.rcv.counts())
			nRoom++
		}
	}
	sent := ir.e.c.sent.Load()
	roomTotal, _ := ir.rec.merge()
	inboxTotal, inboxSecs := ir.inboxRec.merge()
	m := &MessageStats{
		Sent: sent, SendErrors: ir.sendErrs.snapshot(), TargetRate: cfg.Rate,
		Expected: expRoom, Received: roomCounts.Unique, Lost: max(expRoom-roomCounts.Unique, 0),
		deliveryCounts: roomCounts, Latency: statsOf(roomTotal),
	}
	x := &InboxStats{
		Kind: cfg.Kind, Users: len(ir.users), RoomsPerUser: cfg.RoomsPerUser, Rooms: len(ir.rooms), Members: cfg.Members,
		InboxSockets: nInbox, RoomSockets: nRoom,
		Expected: expInbox, Received: inboxCounts.Unique, Lost: max(expInbox-inboxCounts.Unique, 0),
		deliveryCounts: inboxCounts, Latency: statsOf(inboxTotal),
	}
	if s := sendTime.Seconds(); s > 0 {
		m.SendRate = round3(float64(sent) / s)
	}
	if s := deliverTime.Seconds(); s > 0 {
		m.DeliveriesPerSec = round3(float64(roomCounts.Unique) / s)
		x.DeliveriesPerSec = round3(float64(inboxCounts.Unique) / s)
	}
	if expRoom > 0 {
		m.LossPct = round3(100 * float64(m.Lost) / float64(expRoom))
	}
	if expInbox > 0 {
		x.LossPct = round3(100 * float64(x.Lost) / float64(expInbox))
	}
	rep.Messages, rep.Inbox = m, x
	rep.LatencyTimeline = inboxSecs
	rep.Distribution = distribution(roomTotal)
	rep.InboxDistribution = distribution(inboxTotal)
	rep.Conns.Dropped = ir.e.c.dropped.Load()
	rep.Conns.DropReasons = ir.drops.snapshot()
	if n := rep.Conns.DropReasons["closed 4008"]; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the server closed %d sockets with 4008 (slow consumer): the generator "+
			"could not read fast enough; see its CPU", n))
	}
	if (m.Lost > 0 || x.Lost > 0) && rep.Conns.Dropped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d sockets were dropped mid-run; their missing deliveries count as lost", rep.Conns.Dropped))
	}
	if n := m.SendErrors["http 429"]; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d posts got 429 after retries: raise the server's --message-rate for this rate", n))
	}
}
