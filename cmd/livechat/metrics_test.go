package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMetricsEndpoint starts a server with --metrics-addr 127.0.0.1:0,
// makes REST and socket traffic, a refused login and a socket closed for
// bad frames, then scrapes /metrics, parses it as Prometheus does and
// checks that every family moved.
func TestMetricsEndpoint(t *testing.T) {
	base, metricsURL := startMetricsServer(t)
	api := restClient{t: t, base: base}
	api.call("POST", "/user/v1/register/", "", map[string]any{"email": "m@example.com", "password1": "metrics-pass-1", "password2": "metrics-pass-1", "nickname": "m"}, 201)
	var login struct{ Access string }
	json.Unmarshal(api.call("POST", "/user/v1/login/", "", map[string]any{"email": "m@example.com", "password": "metrics-pass-1"}, 200), &login)
	var room struct{ ID int64 }
	json.Unmarshal(api.call("POST", "/chat/v1/room/", login.Access, map[string]any{"name": "metrics"}, 201), &room)

	ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/ws/chat/%d/chat/?token=%s", strings.TrimPrefix(base, "http://"), room.ID, login.Access), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	api.call("POST", "/chat/v1/message/", login.Access, map[string]any{"room": room.ID, "message": "over REST"}, 201)
	if err := ws.WriteJSON(map[string]string{"type": "chat.message", "message": "over the socket"}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for seen := 0; seen < 2; {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if bytes.Contains(data, []byte(`"chat.message"`)) {
			seen++
		}
	}
	api.call("GET", fmt.Sprintf("/chat/v1/room/%d/", room.ID), login.Access, nil, 200)
	// The login rate is one failure a minute per email: the second is 429.
	api.call("POST", "/user/v1/login/", "", map[string]any{"email": "m@example.com", "password": "wrong-pass-1"}, 400)
	api.call("POST", "/user/v1/login/", "", map[string]any{"email": "m@example.com", "password": "wrong-pass-1"}, 429)
	// Bad frames past the strike burst: closed with 1008.
	bad, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/ws/chat/%d/chat/?token=%s", strings.TrimPrefix(base, "http://"), room.ID, login.Access), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	for range 5 {
		_ = bad.WriteMessage(websocket.BinaryMessage, []byte{1})
	}
	_ = bad.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := bad.ReadMessage(); err != nil {
			break
		}
	}

	var fams map[string]*dto.MetricFamily
	eventually(t, 10*time.Second, func() error {
		fams = scrape(t, metricsURL)
		checks := []struct {
			family string
			labels map[string]string
			min    float64
		}{
			{"livechat_sockets_open", nil, 1},
			{"livechat_rooms_active", nil, 1},
			{"livechat_messages_accepted_total", map[string]string{"path": "rest"}, 1},
			{"livechat_messages_accepted_total", map[string]string{"path": "socket"}, 1},
			{"livechat_deliveries_total", nil, 2},
			{"livechat_socket_written_bytes_total", nil, 100},
			{"livechat_socket_write_frames", nil, 1},
			{"livechat_storage_append_seconds", nil, 2},
			{"livechat_storage_commit_seconds", nil, 1},
			{"livechat_storage_commit_messages", nil, 1},
			{"livechat_http_request_duration_seconds", map[string]string{"route": "/chat/v1/message/", "method": "POST", "status": "201"}, 1},
			{"livechat_http_request_duration_seconds", map[string]string{"route": "/chat/v1/room/{id}/", "method": "GET", "status": "200"}, 1},
			{"livechat_http_request_duration_seconds", map[string]string{"route": "/ws/chat/{id}/chat/", "status": "101"}, 2},
			{"livechat_refusals_total", map[string]string{"kind": "login_rate"}, 1},
			{"livechat_socket_closes_total", map[string]string{"code": "1008"}, 1},
			{"go_goroutines", nil, 1},
			{"process_cpu_seconds_total", nil, 0},
		}
		for _, c := range checks {
			v, ok := metricValue(fams[c.family], c.labels)
			if !ok || v < c.min {
				return fmt.Errorf("%s%v = %v (present %v), want at least %v", c.family, c.labels, v, ok, c.min)
			}
		}
		for _, name := range []string{"livechat_badger_lsm_bytes", "livechat_badger_vlog_bytes"} {
			if fams[name] == nil {
				return fmt.Errorf("no %s", name)
			}
		}
		return nil
	})
	// Every series the Grafana dashboard plots exists.
	dashboard, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range dashboardMetric.FindAllString(string(dashboard), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count")
		if fams[base] == nil {
			t.Errorf("the dashboard plots %s, which the server does not export", name)
		}
	}
}

// dashboardMetric finds metric names in the dashboard's queries.
var dashboardMetric = regexp.MustCompile(`\b(?:livechat|go|process)_[a-z_]+`)

// startMetricsServer runs a server with metrics on a free port and
// returns its base URL and its metrics URL (read from its log).
func startMetricsServer(t *testing.T) (base, metricsURL string) {
	t.Helper()
	cfg, err := parseServeFlags([]string{"-addr", "127.0.0.1:0", "-in-memory", "-bcrypt-cost", "4",
		"-login-rate", "1", "-strike-burst", "1", "-metrics-addr", "127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("server did not stop")
		}
	})
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start in 10s")
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "metrics serving" {
			return base, "http://" + l.Addr + "/metrics"
		}
	}
	t.Fatalf("no \"metrics serving\" line in the log:\n%s", logs)
	return "", ""
}

// restClient makes JSON calls and checks their status.
type restClient struct {
	t    *testing.T
	base string
}

func (c restClient) call(method, path, token string, body any, want int) []byte {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	return out
}

// scrape reads and parses the metrics page.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("scrape: status %d", res.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// metricValue sums the series of f whose labels include want: a counter's
// or gauge's value, a histogram's sample count.
func metricValue(f *dto.MetricFamily, want map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	sum, found := 0.0, false
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			match := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					match = true
				}
			}
			if !match {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, found
}
