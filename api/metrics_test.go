package api

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"livechat/actors"
)

// counterValue reads a counter.
func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestSlowConsumerAndCapAreCountedAndLogged closes a socket as a slow
// consumer (its outbound limit is smaller than one message) and refuses a
// socket over --max-conns: the close code and the refusal are counted,
// the close is a warning that says why, and the refusal's access line
// gives its reason.
func TestSlowConsumerAndCapAreCountedAndLogged(t *testing.T) {
	var buf logBuffer
	m := NewMetrics(prometheus.NewRegistry())
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) {
		c.Metrics, c.Logger = m, slog.New(slog.NewJSONHandler(&buf, nil))
		c.MaxOutboundBytes, c.MaxConnections = 64, 1
	})
	u := ts.newUser(t, "slow")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	// The client reads the 101 before the server has counted the socket.
	wsEventually(t, 5*time.Second, func() error { return wsConnections(ts, 1) })
	if _, resp, err := ts.dialWS(ts.wsURL(room, "token="+u.token), nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second socket over --max-conns 1: %v %v", err, resp)
	}
	// Counted is not joined: a message posted before the join would pass
	// the socket by.
	ts.waitOnline(t, u, room, "slow")
	status, body := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"room": room, "message": strings.Repeat("x", 200)})
	if status != http.StatusCreated {
		t.Fatalf("post: %d %s", status, body)
	}
	c.expectClose(t, actors.CloseSlowConsumer)
	waitForLog(t, &buf, `"socket closed"`, 1)

	if v := counterValue(t, m.closeCodes[actors.CloseSlowConsumer]); v != 1 {
		t.Errorf("closes with 4008 counted: %v, want 1", v)
	}
	if v := counterValue(t, m.refusalKinds["max_conns"]); v != 1 {
		t.Errorf("max_conns refusals counted: %v, want 1", v)
	}
	if v := counterValue(t, m.sockets.deliveries); v != 0 {
		t.Errorf("deliveries counted: %v, want 0 (the frame was refused)", v)
	}
	lines := buf.jsonLines(t)
	if findLine(lines, map[string]any{"msg": "socket closed", "level": "WARN", "code": actors.CloseSlowConsumer, "reason": "slow consumer", "by": "server"}) == nil {
		t.Errorf("no warning for the slow consumer:\n%s", buf.String())
	}
	refused := findLine(lines, map[string]any{"msg": "http", "route": routeSocket, "status": http.StatusServiceUnavailable})
	if r, _ := refused["reason"].(string); !strings.Contains(r, "Too many connections") {
		t.Errorf("the refused socket's access line does not say why: %v", refused)
	}
}

// TestRouteLabelsAreBounded checks that raw paths map to route patterns,
// so that no client can create a metric series per path.
func TestRouteLabelsAreBounded(t *testing.T) {
	ts := newTestServer(t)
	for path, want := range map[string]string{
		"/user/v1/login/":              "/user/v1/login/",
		"/chat/v1/room/":               "/chat/v1/room/",
		"/chat/v1/room/42/":            routeRoom,
		"/chat/v1/room/abc/":           routeRoom,
		"/chat/v1/room/42/messages/":   routeHistory,
		"/chat/v1/room/42/other/":      routeOther,
		"/ws/chat/7/chat/":             routeSocket,
		"/static/app.js":               routeStatic,
		"/healthz":                     "/healthz",
		"/":                            "/",
		"/no/such/path/" + "x":         routeOther,
		"/chat/v1/room//":              routeOther,
		"/user/v1/login":               routeOther,
		"/chat/v1/room/1/messages/x/y": routeOther,
	} {
		if got := ts.srv.routeLabel([]byte(path)); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", path, got, want)
		}
	}
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "BREW": "other", "get": "other"} {
		if got := methodLabel([]byte(in)); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
