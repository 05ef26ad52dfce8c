package bench

import (
	"bufio"
	"strings"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	page := `# HELP livechat_cluster_route_bytes_total bytes of those messages
# TYPE livechat_cluster_route_bytes_total counter
livechat_cluster_route_bytes_total{direction="received"} 999
livechat_cluster_route_bytes_total{direction="sent"} 1.234567e+06
livechat_cluster_route_messages_total{direction="received"} 7
livechat_cluster_route_messages_total{direction="sent"} 4321
livechat_sockets_open 3
`
	msgs, bytes, err := parseRoutes(bufio.NewScanner(strings.NewReader(page)))
	if err != nil || msgs != 4321 || bytes != 1234567 {
		t.Fatalf("parseRoutes: %d msgs, %d bytes, %v", msgs, bytes, err)
	}
	if _, _, err := parseRoutes(bufio.NewScanner(strings.NewReader("livechat_sockets_open 3\n"))); err == nil {
		t.Fatal("a single node's metrics gave route counts")
	}
	if _, _, err := parseRoutes(bufio.NewScanner(strings.NewReader(
		"livechat_cluster_route_messages_total{direction=\"sent\"} x\nlivechat_cluster_route_bytes_total{direction=\"sent\"} 1\n"))); err == nil {
		t.Fatal("a malformed value was read")
	}

	rep := &Report{Messages: &MessageStats{Sent: 200}}
	interNode(rep, 1000, 50000, 2000, 150000)
	if in := rep.InterNode; in == nil || in.Msgs != 1000 || in.PerMessage != 5 || in.BytesPerMessage != 500 || len(rep.Notes) != 0 {
		t.Fatalf("interNode: %+v, notes %v", rep.InterNode, rep.Notes)
	}
}
