package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// post sends a message over REST and returns the stored message's seq, 0
// when the node did not answer 201.
func (n chatNode) post(client *http.Client, token string, room int64, text string) int64 {
	b, _ := json.Marshal(map[string]any{"room": room, "message": text})
	req, _ := http.NewRequest("POST", n.url+"/chat/v1/message/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var m struct{ Seq int64 }
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &m) != nil {
		return 0
	}
	return m.Seq
}

// TestLogLeaderLoss takes the log's leader node out during traffic and
// checks that no acknowledged message is lost or doubled, that seq stays
// gap-free and the same on the surviving nodes, and that writes resume
// within 10 s.
func TestLogLeaderLoss(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	token := account(t, nodes[0], nodes[1], "poster@example.com")
	var room struct{ ID int64 }
	nodes[0].call(t, "POST", "/chat/v1/room/", token, map[string]any{"name": "failover"}, 201, &room)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	info, err := nodes[0].node.stream.Info(ctx)
	cancel()
	if err != nil || info.Cluster == nil {
		t.Fatalf("log info: %v", err)
	}
	leader := slices.IndexFunc(nodes, func(n chatNode) bool { return n.node.cfg.Node == info.Cluster.Leader })
	if leader < 0 {
		t.Fatalf("leader %q is none of the nodes", info.Cluster.Leader)
	}
	var survivors []chatNode
	for i, n := range nodes {
		if i != leader {
			survivors = append(survivors, n)
		}
	}

	client := &http.Client{Timeout: 20 * time.Second}
	var (
		mu     sync.Mutex
		acked  = map[string]int64{} // text → seq
		killed time.Time
		acks   []time.Time
	)
	stopAt := time.Now().Add(13500 * time.Millisecond) // 12 s after the loss
	var wg sync.WaitGroup
	for w := range 4 {
		n := survivors[w%2]
		wg.Go(func() {
			for k := 0; time.Now().Before(stopAt); k++ {
				text := fmt.Sprintf("w%d-%d", w, k)
				if seq := n.post(client, token, room.ID, text); seq > 0 {
					mu.Lock()
					acked[text] = seq
					acks = append(acks, time.Now())
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	killed = time.Now()
	before := len(acked)
	mu.Unlock()
	nodes[leader].stop()
	wg.Wait()
	if before == 0 {
		t.Fatal("no message acknowledged before the leader's loss")
	}
	// The stall: the longest time without an ack from the loss on.
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	stall, last := time.Duration(0), killed
	for _, at := range acks {
		if at.After(killed) {
			stall, last = max(stall, at.Sub(last)), at
		}
	}
	stall = max(stall, stopAt.Sub(last))
	if stall > 10*time.Second {
		t.Fatalf("writes stalled %v after the leader's loss", stall)
	}
	t.Logf("%d messages acknowledged, %d before the leader's loss; longest stall after it %v", len(acked), before, stall)

	var first []int64
	for i, n := range survivors {
		var hist []struct {
			Seq     int64
			Message string
		}
		seqs := []int64{}
		for before := int64(0); ; {
			var page []struct {
				Seq     int64
				Message string
			}
			q := "?limit=200"
			if before > 0 {
				q += fmt.Sprintf("&before=%d", before)
			}
			n.call(t, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/%s", room.ID, q), token, nil, 200, &page)
			if len(page) == 0 {
				break
			}
			hist = append(page, hist...)
			before = page[0].Seq
			if before == 1 {
				break
			}
		}
		seen := map[string]int64{}
		for k, m := range hist {
			if m.Seq != int64(k+1) {
				t.Fatalf("survivor %d: message %d has seq %d", i+1, k+1, m.Seq)
			}
			if _, dup := seen[m.Message]; dup {
				t.Fatalf("survivor %d: %q stored twice", i+1, m.Message)
			}
			seen[m.Message] = m.Seq
			seqs = append(seqs, m.Seq)
		}
		for text, seq := range acked {
			if seen[text] != seq {
				t.Fatalf("survivor %d: acknowledged %q (seq %d) is at seq %d", i+1, text, seq, seen[text])
			}
		}
		if first == nil {
			first = seqs
		} else if len(first) != len(seqs) {
			t.Fatalf("survivors hold %d and %d messages", len(first), len(seqs))
		}
	}
}

// TestResumeOnAnotherNode reads a room on one node, loses that node while
// messages keep coming through another, and reconnects to a third with
// since: the client sees every message once, in order, with no gap.
func TestResumeOnAnotherNode(t *testing.T) {
	nodes := chatNodes(t, startAll(t, testCluster(t, 3)))
	token := account(t, nodes[0], nodes[0], "resumer@example.com")
	var room struct{ ID int64 }
	nodes[0].call(t, "POST", "/chat/v1/room/", token, map[string]any{"name": "resume"}, 201, &room)
	client := &http.Client{Timeout: 20 * time.Second}
	postN := func(from, to int) {
		for k := from; k < to; k++ {
			if nodes[0].post(client, token, room.ID, fmt.Sprintf("m%d", k)) != int64(k) {
				t.Fatalf("post %d not acknowledged at seq %d", k, k)
			}
		}
	}
	first := nodes[2].dial(t, room.ID, token, "")
	postN(1, 21)
	var last int64
	for last < 12 { // the client has read part of what was sent
		last = nextMessage(t, first).Seq
	}
	nodes[2].stop()
	postN(21, 41)
	again := nodes[1].dial(t, room.ID, token, fmt.Sprintf("&since=%d", last))
	for want := last + 1; want <= 40; want++ {
		if m := nextMessage(t, again); m.Seq != want || m.Message != fmt.Sprintf("m%d", want) {
			t.Fatalf("after since=%d on another node: %+v, want seq %d", last, m, want)
		}
	}
}
