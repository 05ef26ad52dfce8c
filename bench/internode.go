package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// InterNodeStats is what crossed between the nodes of a cluster while
// messages were sent and delivered, read from each node's
// livechat_cluster_route_* metrics (nodes.json "metrics"): every NATS
// message a node's server sent to another node, log replication,
// acknowledgements, log deliveries and room events alike. PerMessage is
// that count over the chat messages sent: it stays the same whatever the
// room's size when a message crosses to each node once, not once per
// member.
type InterNodeStats struct {
	Msgs            int64   `json:"msgs"`
	Bytes           int64   `json:"bytes"`
	Messages        int64   `json:"messages"`
	PerMessage      float64 `json:"per_message"`
	BytesPerMessage float64 `json:"bytes_per_message"`
}

// routeCounts is the sum over the nodes of what their servers sent each
// other so far; ok is false when a node has no metrics address or could
// not be read (a sum over some nodes would pass for all).
func (e *environment) routeCounts(ctx context.Context) (msgs, bytes int64, ok bool) {
	if !e.multiNode() {
		return 0, 0, false
	}
	for _, n := range e.nodes {
		if n.Metrics == "" {
			return 0, 0, false
		}
		m, b, err := scrapeRoutes(ctx, n.Metrics)
		if err != nil {
			e.log.Warn("cannot read a node's route metrics", "node", n.Name, "err", err)
			return 0, 0, false
		}
		msgs, bytes = msgs+m, bytes+b
	}
	return msgs, bytes, true
}

// interNode fills rep.InterNode from the route counts before and after
// the load, over the messages sent.
func interNode(rep *Report, msgs0, bytes0, msgs1, bytes1 int64) {
	m := rep.Messages
	if m == nil || m.Sent == 0 {
		return
	}
	in := &InterNodeStats{Msgs: msgs1 - msgs0, Bytes: bytes1 - bytes0, Messages: m.Sent}
	in.PerMessage = round3(float64(in.Msgs) / float64(in.Messages))
	in.BytesPerMessage = round3(float64(in.Bytes) / float64(in.Messages))
	rep.InterNode = in
	if in.Msgs < 0 {
		rep.Notes = append(rep.Notes, "a node's route counters went down during the run (a route reconnected): the inter-node figures are not whole")
	}
}

// scrapeRoutes reads livechat_cluster_route_{messages,bytes}_total with
// direction "sent" from a node's /metrics.
func scrapeRoutes(ctx context.Context, url string) (msgs, bytes int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return parseRoutes(bufio.NewScanner(resp.Body))
}

// parseRoutes finds the two sent counters in Prometheus' text format.
func parseRoutes(sc *bufio.Scanner) (msgs, bytes int64, err error) {
	var seen int
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, `livechat_cluster_route_messages_total{direction="sent"} `):
			dst = &msgs
		case strings.HasPrefix(line, `livechat_cluster_route_bytes_total{direction="sent"} `):
			dst = &bytes
		default:
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("route metric %q: %w", line, err)
		}
		*dst, seen = int64(v), seen+1
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if seen != 2 {
		return 0, 0, fmt.Errorf("no livechat_cluster_route_* metrics (not a cluster node with an embedded NATS?)")
	}
	return msgs, bytes, nil
}

func (t *table) interNodeRows(in *InterNodeStats) {
	t.row("between nodes", "%.2f msgs and %.0f bytes per chat message (%d msgs, %d bytes for %d messages)",
		in.PerMessage, in.BytesPerMessage, in.Msgs, in.Bytes, in.Messages)
}
