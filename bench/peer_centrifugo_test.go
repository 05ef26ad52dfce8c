package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// fakeCentrifugo speaks the part of Centrifugo's JSON client protocol the
// bench uses: connect, subscribe, publish to the channel's subscribers,
// several replies per frame (one per line) and pings answered with pongs.
type fakeCentrifugo struct {
	mu     sync.Mutex
	subs   map[string][]*fakeCfConn
	refuse bool // answer subscribe with an error
	// refusePublish answers every publish but the warm-ups with an error
	refusePublish bool
	pongs         atomic.Int64
}

type fakeCfConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (fc *fakeCfConn) write(b []byte) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	_ = fc.c.SetWriteDeadline(time.Now().Add(time.Second))
	_ = fc.c.WriteMessage(websocket.TextMessage, b)
}

func startFakeCentrifugo(t *testing.T, refuse bool) (string, *fakeCentrifugo) {
	t.Helper()
	f := &fakeCentrifugo{subs: map[string][]*fakeCfConn{}, refuse: refuse}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/connection/websocket" {
			ctx.SetStatusCode(404)
			return
		}
		up := websocket.FastHTTPUpgrader{}
		_ = up.Upgrade(ctx, f.serve)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String(), f
}

// serve answers one client's commands until it goes.
func (f *fakeCentrifugo) serve(c *websocket.Conn) {
	fc := &fakeCfConn{c: c}
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		var out [][]byte
		for line := range bytes.Lines(b) {
			out = append(out, f.command(fc, bytes.TrimSpace(line))...)
		}
		if len(out) > 0 {
			fc.write(bytes.Join(out, []byte("\n")))
		}
	}
}

// command runs one command and returns the replies for its sender; a
// publish's push to the sender rides in the same frame as its reply.
func (f *fakeCentrifugo) command(fc *fakeCfConn, line []byte) [][]byte {
	if string(line) == "{}" {
		f.pongs.Add(1)
		return nil
	}
	var cmd struct {
		ID        int64 `json:"id"`
		Subscribe *struct {
			Channel string `json:"channel"`
		} `json:"subscribe"`
		Publish *struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		} `json:"publish"`
	}
	if json.Unmarshal(line, &cmd) != nil {
		return nil
	}
	switch {
	case cmd.Subscribe != nil && f.refuse:
		return [][]byte{fmt.Appendf(nil, `{"id":%d,"error":{"code":103,"message":"permission denied"}}`, cmd.ID)}
	case cmd.Subscribe != nil:
		f.mu.Lock()
		f.subs[cmd.Subscribe.Channel] = append(f.subs[cmd.Subscribe.Channel], fc)
		f.mu.Unlock()
		// A ping right after: the bench must answer it.
		return [][]byte{fmt.Appendf(nil, `{"id":%d,"subscribe":{}}`, cmd.ID), []byte("{}")}
	case cmd.Publish != nil && f.refusePublish && !bytes.Contains(cmd.Publish.Data, []byte(warmPrefix)):
		return [][]byte{fmt.Appendf(nil, `{"id":%d,"error":{"code":111,"message":"too many requests"}}`, cmd.ID)}
	case cmd.Publish != nil:
		push := fmt.Appendf(nil, `{"push":{"channel":%q,"pub":{"data":%s,"offset":1}}}`, cmd.Publish.Channel, cmd.Publish.Data)
		f.mu.Lock()
		subs := append([]*fakeCfConn(nil), f.subs[cmd.Publish.Channel]...)
		f.mu.Unlock()
		mine := false
		for _, s := range subs {
			if s == fc {
				mine = true
				continue
			}
			s.write(push)
		}
		// A ping before the sender's own push: its reader must answer it.
		out := [][]byte{fmt.Appendf(nil, `{"id":%d,"publish":{}}`, cmd.ID), []byte("{}")}
		if mine {
			out = append(out, push)
		}
		return out
	default: // connect
		return [][]byte{fmt.Appendf(nil, `{"id":%d,"connect":{"client":"c","version":"0.0.0","ping":25,"pong":true}}`, cmd.ID)}
	}
}

func TestCentrifugoPeerAgainstFakeServer(t *testing.T) {
	url, f := startFakeCentrifugo(t, false)
	rep := runPeer(t, url, Config{Scenario: ScenarioSmallRooms, Rooms: 3, Members: 4, Rate: 20})
	assertClean(t, rep)
	if want := rep.Messages.Sent * 4; rep.Messages.Expected != want {
		t.Fatalf("expected %d, want sent×members = %d", rep.Messages.Expected, want)
	}
	if rep.Settings.Peer != PeerCentrifugo || rep.Server == nil || rep.Server.CPUMsPer1kDeliveries <= 0 {
		t.Fatalf("settings %+v, server %+v", rep.Settings, rep.Server)
	}
	// One ping per socket at subscribe, one per message published
	// (the three warm-ups too), each answered before the push after it.
	pings := 12 + rep.Messages.Sent + 3
	if !waitFor(t.Context(), 2*time.Second, func() bool { return f.pongs.Load() == pings }) {
		t.Fatalf("%d pongs to %d pings", f.pongs.Load(), pings)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "centrifugo at "+url) {
		t.Fatalf("table does not name the peer (%v):\n%s", err, table.String())
	}
}

func TestCentrifugoRefusalFailsTheOpens(t *testing.T) {
	url, _ := startFakeCentrifugo(t, true)
	rep := runPeer(t, url, Config{Scenario: ScenarioSmallRooms, Rooms: 2, Members: 3})
	if rep.Conns.OK != 0 || rep.Conns.Failed != 6 {
		t.Fatalf("conns %+v: every subscribe was refused", rep.Conns)
	}
}

// A publish the server refuses is counted as refused, its deliveries as
// lost.
func TestCentrifugoRefusedPublishesAreCounted(t *testing.T) {
	url, f := startFakeCentrifugo(t, false)
	f.refusePublish = true
	rep := runPeer(t, url, Config{Scenario: ScenarioSmallRooms, Rooms: 2, Members: 3, Rate: 10})
	m := rep.Messages
	if m.Sent == 0 || m.Refused != m.Sent || m.Received != 0 || m.Lost != m.Expected {
		t.Fatalf("messages %+v: want every one refused and its deliveries lost", m)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "error replies") {
		t.Fatalf("table does not show the refusals (%v):\n%s", err, table.String())
	}
}

// runPeer runs cfg with Peer centrifugo against the server at url.
func runPeer(t *testing.T, url string, cfg Config) *Report {
	t.Helper()
	cfg.Peer = PeerCentrifugo
	cfg.Server = url
	cfg.Duration = time.Second
	cfg.Drain = 3 * time.Second
	cfg.LocalAddrs = 4
	cfg.ServerPID = os.Getpid()
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func TestScanCentrifugo(t *testing.T) {
	for _, c := range []struct {
		in   string
		want cfReply
		err  bool
	}{
		{in: "{}", want: cfReply{ping: true}},
		{in: " {}\n", want: cfReply{ping: true}},
		{in: `{"id":7,"publish":{}}`, want: cfReply{id: 7}},
		{in: `{"id":2,"error":{"code":103,"message":"permission denied"}}`, want: cfReply{id: 2, err: []byte(`{"code":103,"message":"permission denied"}`)}},
		{in: `{"push":{"channel":"c","pub":{"offset":3,"data":{"type":"chat.message","data":"x"}}}}`,
			want: cfReply{data: []byte(`{"type":"chat.message","data":"x"}`)}},
		{in: `{"push":{"channel":"c","join":{"info":{}}}}`},
		{in: `{"push":{"channel":"c","pub":{"data":"text \"quoted\""}}}`, want: cfReply{data: []byte(`"text \"quoted\""`)}},
		{in: `[1]`, err: true},
		{in: `{"id":1,`, err: true},
		{in: `{"push":{"pub":{"data":{"a":1}`, err: true},
	} {
		got, err := scanCentrifugo([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("%s: err %v", c.in, err)
			continue
		}
		if !c.err && (got.id != c.want.id || got.ping != c.want.ping || !bytes.Equal(got.err, c.want.err) || !bytes.Equal(got.data, c.want.data)) {
			t.Errorf("%s: got %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestPublisherWrapsFrames(t *testing.T) {
	p := newPublisher("bench_r_1")
	for i, want := range []string{
		`{"id":3,"publish":{"channel":"bench_r_1","data":{"type":"chat.message","message":"a"}}}`,
		`{"id":4,"publish":{"channel":"bench_r_1","data":{"message":"b"}}}`,
	} {
		data := []string{`{"type":"chat.message","message":"a"}`, `{"message":"b"}`}[i]
		if got := string(p.wrap([]byte(data))); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
