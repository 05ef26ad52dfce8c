package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Smoke traffic: each of three REST posters and three sockets sends a
// message every smokeEvery for smokeTraffic; one node is killed
// smokeKillAfter into it.
const (
	smokeTraffic   = 6 * time.Second
	smokeKillAfter = 2 * time.Second
	smokeEvery     = 15 * time.Millisecond
	// smokeSettle bounds the wait for the surviving nodes to agree, and
	// for their sockets to receive the last message, after the traffic.
	smokeSettle = 30 * time.Second
)

// acked is a message the cluster acknowledged: a 201 to a REST post, or
// the echo of a socket's own message on that socket.
type acked struct {
	text string
	seq  int64
	via  string
}

// TestSmokeKillOneNode is CI's cluster smoke test. Three nodes, one room,
// a socket on each node; messages posted over REST to every node and over
// every socket at once; one node SIGKILLed in the middle of it. Then, on
// each surviving node: every acknowledged message is in the room's
// history exactly once, under the seq it was acknowledged with; seq runs
// 1..N without a gap; every surviving node has the same history; and every
// socket that stayed connected received exactly 1..N, in order, as the
// history has them.
func TestSmokeKillOneNode(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	victim := c.Nodes[2]
	underFault(t, c, fault{traffic: smokeTraffic, after: smokeKillAfter, do: func() []*Node {
		victim.Kill()
		return []*Node{victim}
	}})
}

// fault is a fault injected into a cluster under traffic: do runs after
// into traffic that lasts traffic, and returns the nodes it left down.
type fault struct {
	traffic, after time.Duration
	do             func() (down []*Node)
}

// underFault runs the smoke traffic (a room; a socket per node; REST
// posts to every node and socket posts, all at once) through f, then checks
// every node still up: every acknowledged message in its history once,
// under the seq it was acknowledged with, seq 1..N, the same history on
// each, and every socket that stayed connected received 1..N.
func underFault(t *testing.T, c *Cluster, f fault) {
	t.Helper()
	var victim *Node // the one node left down, if any (sockets' check)
	survivors := c.Nodes

	users := make([]*user, len(c.Nodes))
	for i, n := range c.Nodes {
		users[i] = register(t, n, uniqueEmail(fmt.Sprintf("smoke%d-", i+1)), fmt.Sprintf("smoke%d", i+1))
		login(t, n, users[i])
	}
	var rm room
	mustCall(t, c.Nodes[0], "POST", "/chat/v1/room/", users[0].Access, map[string]any{"name": "smoke"}, 201, &rm)
	sockets := make([]*socket, len(c.Nodes))
	for i, n := range c.Nodes {
		sockets[i] = openSocket(t, n, users[i].Access, rm.ID)
	}

	var mu sync.Mutex
	var acks []acked
	sent := map[string]int{}              // sender → messages sent (tried)
	outcomes := map[string]int{}          // "poster status" → count
	slowest := map[string]time.Duration{} // poster → its slowest answer
	ctx, cancel := context.WithTimeout(context.Background(), f.traffic)
	defer cancel()
	var wg sync.WaitGroup
	for i := range c.Nodes {
		node := c.Nodes[(i+1)%len(c.Nodes)] // each node gets one REST poster
		name := fmt.Sprintf("rest-%d-%s", i+1, node.Name())
		wg.Go(func() {
			k := 0
			for tick := time.Tick(smokeEvery); ctx.Err() == nil; <-tick {
				k++
				text := fmt.Sprintf("%s-%d", name, k)
				began := time.Now()
				r, err := call(node, "POST", "/chat/v1/message/", users[i].Access, map[string]any{"message": text, "room": rm.ID})
				mu.Lock()
				outcome := fmt.Sprint(r.status)
				if err != nil {
					outcome = "error"
				}
				outcomes[name+" "+outcome]++
				slowest[name] = max(slowest[name], time.Since(began))
				mu.Unlock()
				if err == nil && r.status == 201 {
					var m message
					if err := json.Unmarshal(r.body, &m); err != nil {
						t.Errorf("%s: 201 %s: %v", name, r.body, err)
						return
					}
					mu.Lock()
					acks = append(acks, acked{text, m.Seq, name})
					mu.Unlock()
				}
			}
			mu.Lock()
			sent[name] = k
			mu.Unlock()
		})
		s := sockets[i]
		wsName := fmt.Sprintf("ws-%d-%s", i+1, s.node.Name())
		wg.Go(func() {
			k := 0
			for tick := time.Tick(smokeEvery); ctx.Err() == nil; <-tick {
				k++
				text := fmt.Sprintf("%s-%d", wsName, k)
				if s.send(text, text) != nil {
					break // its node is gone
				}
			}
			mu.Lock()
			sent[wsName] = k
			mu.Unlock()
		})
	}
	select {
	case <-time.After(f.after):
		down := f.do()
		survivors = slices.DeleteFunc(slices.Clone(c.Nodes), func(n *Node) bool { return slices.Contains(down, n) })
		if len(down) == 1 {
			victim = down[0]
		}
	case <-ctx.Done():
		t.Fatal("the traffic ended before the fault")
	}
	wg.Wait()
	t.Logf("sent: %v; REST posts acknowledged: %d; answers: %v; slowest: %v", sent, len(acks), outcomes, slowest)

	// The survivors agree, hold every acknowledged message, and keep
	// holding the same for a second (a write answered 503 may still be
	// applied late); or the settle time is up and the checks below say
	// what is wrong. A history read may be answered 503 while the log
	// elects its new leader: it is read again.
	deadline := time.Now().Add(smokeSettle)
	histories := func() ([][]message, error) {
		hs := make([][]message, len(survivors))
		for i, n := range survivors {
			h, err := history(n, users[0].Access, rm.ID)
			if err != nil {
				return nil, err
			}
			hs[i] = h
		}
		return hs, nil
	}
	var hist [][]message
	for {
		hs, err := histories()
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("history %s after the traffic: %v", smokeSettle, err)
		}
		if err != nil {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		hist = hs
		all := append(slices.Clone(acks), echoed(sockets)...)
		if time.Now().After(deadline) {
			acks = all
			break
		}
		if sameHistory(hist) && len(missing(hist[0], all)) == 0 {
			time.Sleep(time.Second)
			if again, err := histories(); err == nil && firstDifference(again[0], hist[0]) == "" && sameHistory(again) {
				acks = all
				break
			}
			continue
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("acknowledged: %d (REST and echoes); history: %d messages on %d nodes", len(acks), len(hist[0]), len(hist))

	for i, n := range survivors {
		checkHistory(t, n.Name(), hist[i], acks)
	}
	if !sameHistory(hist) {
		for _, h := range hist[1:] {
			if d := firstDifference(hist[0], h); d != "" {
				t.Errorf("the surviving nodes disagree: %s", d)
			}
		}
	}
	checkSockets(t, sockets, victim, hist[0])
}

// echoed are the messages each socket sent that came back to it.
func echoed(sockets []*socket) []acked {
	var out []acked
	for i, s := range sockets {
		prefix := fmt.Sprintf("ws-%d-%s-", i+1, s.node.Name())
		for _, m := range s.received() {
			if len(m.Message) > len(prefix) && m.Message[:len(prefix)] == prefix {
				out = append(out, acked{m.Message, m.Seq, "echo on " + s.node.Name()})
			}
		}
	}
	return out
}

// missing are the acknowledged messages absent from h.
func missing(h []message, acks []acked) []acked {
	have := map[string]bool{}
	for _, m := range h {
		have[m.Message] = true
	}
	var out []acked
	for _, a := range acks {
		if !have[a.text] {
			out = append(out, a)
		}
	}
	return out
}

// checkHistory checks one node's history: seq 1..N, each message once,
// every acknowledged message there under its acknowledged seq.
func checkHistory(t *testing.T, node string, h []message, acks []acked) {
	t.Helper()
	for i, m := range h {
		if m.Seq != int64(i+1) {
			t.Errorf("%s: history[%d] has seq %d, want %d (a gap or a repeat)", node, i, m.Seq, i+1)
			break
		}
	}
	at := map[string][]int64{}
	for _, m := range h {
		at[m.Message] = append(at[m.Message], m.Seq)
	}
	dups := 0
	for text, seqs := range at {
		if len(seqs) > 1 {
			if dups < 5 {
				t.Errorf("%s: %q stored %d times, at seq %v", node, text, len(seqs), seqs)
			}
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%s: %d messages stored more than once", node, dups)
	}
	lost, moved := 0, 0
	for _, a := range acks {
		seqs := at[a.text]
		switch {
		case len(seqs) == 0:
			if lost < 5 {
				t.Errorf("%s: %q acknowledged (%s, seq %d) but not in the history", node, a.text, a.via, a.seq)
			}
			lost++
		case seqs[0] != a.seq:
			if moved < 5 {
				t.Errorf("%s: %q acknowledged at seq %d (%s), stored at %d", node, a.text, a.seq, a.via, seqs[0])
			}
			moved++
		}
	}
	if lost+moved > 0 {
		t.Errorf("%s: %d of %d acknowledged messages lost, %d at another seq", node, lost, len(acks), moved)
	}
}

// sameHistory reports whether every history holds the same messages.
func sameHistory(hs [][]message) bool {
	for _, h := range hs[1:] {
		if firstDifference(hs[0], h) != "" {
			return false
		}
	}
	return true
}

// firstDifference describes where two histories first differ ("" if
// they do not).
func firstDifference(a, b []message) string {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if x.Seq != y.Seq || x.ID != y.ID || x.Message != y.Message {
			return fmt.Sprintf("at %d: %d/%d %q against %d/%d %q (seq/id text)", i, x.Seq, x.ID, x.Message, y.Seq, y.ID, y.Message)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d messages against %d", len(a), len(b))
	}
	return ""
}

// checkSockets checks what each socket received against the history h:
// a socket still open received all of it, 1..N in order; the killed
// node's socket received a gap-free beginning of it.
func checkSockets(t *testing.T, sockets []*socket, victim *Node, h []message) {
	t.Helper()
	for _, s := range sockets {
		if s.node != victim && s.closed() {
			t.Logf("%s's socket was closed (%v): not checked for completeness", s.node.Name(), s.err)
		}
		want := len(h)
		if s.node == victim || s.closed() {
			want = -1 // whatever it got before it was cut
		}
		got := s.received()
		for deadline := time.Now().Add(10 * time.Second); want >= 0 && len(got) < want && time.Now().Before(deadline) && !s.closed(); {
			time.Sleep(100 * time.Millisecond)
			got = s.received()
		}
		if want >= 0 && len(got) != want {
			t.Errorf("%s's socket received %d messages, the history has %d", s.node.Name(), len(got), want)
		}
		for i, m := range got {
			if m.Seq != int64(i+1) {
				t.Errorf("%s's socket: message %d has seq %d, want %d (a gap or a repeat)", s.node.Name(), i, m.Seq, i+1)
				break
			}
			if i < len(h) && (h[i].Message != m.Message || h[i].ID != m.ID) {
				t.Errorf("%s's socket: seq %d is %d %q, the history has %d %q", s.node.Name(), m.Seq, m.ID, m.Message, h[i].ID, h[i].Message)
				break
			}
		}
	}
}
