package api

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	pspb "livechat/persistence/pb"
)

// BenchmarkJWTVerify measures a full access-token check: parse, HS256,
// claims (the path of a token not yet in the cache).
func BenchmarkJWTVerify(b *testing.B) {
	tk := newTokens(testSecret, time.Hour, time.Hour)
	token, _, err := tk.issue(accessToken, 42, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.verify(token, accessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnWrite measures the socket writer over a real loopback TCP
// connection: `batch` frames queued at once leave in one write. frames/s
// is what one socket's writer sustains; B/op and allocs/op are per frame.
func BenchmarkConnWrite(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchConnWrite(b, batch) })
	}
}

func benchConnWrite(b *testing.B, batch int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the peer: read and discard everything
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := &Conn{net: nc, maxBytes: 64 << 20, timeout: 10 * time.Second, lastRead: time.Now(),
		stats: NewMetrics(prometheus.NewRegistry()).sockets} // counted as in a server
	c.space = sync.NewCond(&c.mu)
	frame := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		c.mu.Lock()
		for range min(batch, b.N-i) {
			c.queue = append(c.queue, outFrame{1, frame})
		}
		c.mu.Unlock()
		c.mu.Lock()
		batchQ := c.queue
		c.queue = nil
		c.mu.Unlock()
		if err := c.writeBatch(batchQ); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	b.StopTimer()
	_ = nc.Close()
	wg.Wait()
}

// BenchmarkConnSend measures the real write path of a socket: Send, the
// writer goroutine it starts, the frame laid out and written to a TCP
// socket, the writer ending once the queue is empty; burst frames are
// sent at once each round, as a room's messages reach a quiet socket (no
// write clock: the path a quiet socket takes).
func BenchmarkConnSend(b *testing.B) {
	for _, burst := range []int{1, 16} {
		b.Run(fmt.Sprintf("burst=%d", burst), func(b *testing.B) { benchConnSend(b, burst) })
	}
}

func benchConnSend(b *testing.B, burst int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Go(func() { // the peer: read and discard everything
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(io.Discard, c)
	})
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := newConn(nc, 64<<20, 10*time.Second, nil, nil)
	c.stats = NewMetrics(prometheus.NewRegistry()).sockets // counted as in a server
	frame := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += burst {
		for range min(burst, b.N-i) {
			if !c.Send(frame) {
				b.Fatal("Send refused")
			}
		}
		for { // until the writer has written everything and ended
			c.mu.Lock()
			writing := c.writing
			c.mu.Unlock()
			if !writing {
				break
			}
			runtime.Gosched()
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	b.StopTimer()
	_ = nc.Close()
	wg.Wait()
}

// BenchmarkREST measures the REST handlers end to end over real sockets
// (keep-alive fasthttp client, 32 concurrent requests).
func BenchmarkREST(b *testing.B) {
	ts := newTestServer(b)
	u := ts.newUser(b)
	room := ts.createRoom(b, u, "bench", 0)
	for range 50 {
		ts.postMessage(b, u, room.ID, "warm-up message, about as long as a chat line")
	}
	client := &fasthttp.HostClient{Addr: ts.addr, MaxConns: 64}
	auth := "Bearer " + u.Access
	run := func(b *testing.B, method, path, body string, want int) {
		b.ReportAllocs()
		b.SetParallelism(16) // 16 × GOMAXPROCS goroutines
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			for pb.Next() {
				req.Reset()
				req.Header.SetMethod(method)
				req.SetRequestURI("http://" + ts.addr + path)
				req.Header.Set("Authorization", auth)
				if body != "" {
					req.SetBodyString(body)
				}
				if err := client.Do(req, res); err != nil || res.StatusCode() != want {
					b.Errorf("%s %s: %v %d %s", method, path, err, res.StatusCode(), res.Body())
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	}
	id := strconv.FormatInt(room.ID, 10)
	b.Run("room-detail", func(b *testing.B) { run(b, "GET", "/chat/v1/room/"+id+"/", "", 200) })
	b.Run("history", func(b *testing.B) { run(b, "GET", "/chat/v1/room/"+id+"/messages/?limit=50", "", 200) })
	b.Run("post-message", func(b *testing.B) {
		run(b, "POST", "/chat/v1/message/", `{"room":`+id+`,"message":"hello from the benchmark"}`, 201)
	})
}

// BenchmarkObserveRequest measures what the access line and the request
// metrics add to a REST request: with the line formatted (log=info, JSON
// to io.Discard) and with info disabled (log=warn: the histogram only).
func BenchmarkObserveRequest(b *testing.B) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		b.Run("log="+strings.ToLower(level.String()), func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))
			ts := newTestServer(b, func(c *Config) { c.Logger = log })
			var ctx fasthttp.RequestCtx
			var r fasthttp.Request
			r.SetRequestURI("/chat/v1/room/42/?token=x")
			ctx.Init(&r, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}, nil)
			ctx.SetStatusCode(fasthttp.StatusOK)
			noteUser(&ctx, &authUser{User: &pspb.User{Id: 7}})
			b.ReportAllocs()
			for b.Loop() {
				ts.srv.observeRequest(&ctx, time.Now())
			}
		})
	}
}
