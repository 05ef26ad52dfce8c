package bench

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkLoopback measures what this machine's loopback itself allows,
// with no server and no protocol: 200-byte frames written to sockets and
// read on the other side, writers and readers in one process (the two
// sides share the machine's cores, as a server and the load generator do).
// It is the ceiling the chat scenarios are measured against: many-rooms
// is sockets=8000/frames-per-write=1 (one process holds both ends, so
// not the 10,000 of the scenario) (every delivery its own write),
// fanout with a write window is frames-per-write of 2–8.
func BenchmarkLoopback(b *testing.B) {
	for _, c := range []struct{ sockets, perWrite int }{
		{1, 1}, {1, 16}, {1000, 1}, {1000, 4}, {1000, 16}, {8000, 1},
	} {
		b.Run(fmt.Sprintf("sockets=%d/frames-per-write=%d", c.sockets, c.perWrite), func(b *testing.B) {
			benchLoopback(b, c.sockets, c.perWrite)
		})
	}
}

func benchLoopback(b *testing.B, sockets, perWrite int) {
	const frameSize = 200
	writers, readers := loopbackPairs(b, sockets)
	writes := (b.N + perWrite - 1) / perWrite
	want := int64(writes * perWrite * frameSize)
	var got atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Add(1)
		go func(r net.Conn) {
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				n, err := r.Read(buf)
				if got.Add(int64(n)) >= want {
					once.Do(func() { close(done) })
				}
				if err != nil {
					return
				}
			}
		}(r)
	}
	payload := make([]byte, perWrite*frameSize)
	b.SetBytes(frameSize)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	// As many writing goroutines as a server would run at once; each takes
	// the sockets in turn, so consecutive writes go to different sockets.
	const workers = 8
	var ww sync.WaitGroup
	for w := range workers {
		ww.Add(1)
		go func(w int) {
			defer ww.Done()
			for i := w; i < writes; i += workers {
				if _, err := writers[i%sockets].Write(payload); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	ww.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("received %d of %d bytes", got.Load(), want)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(writes*perWrite)/el.Seconds(), "frames/s")
	for i := range writers {
		writers[i].Close()
		readers[i].Close()
	}
	wg.Wait()
}

// loopbackPairs connects n TCP sockets over 127.0.0.1: the accepted ends
// write, the dialled ends read.
func loopbackPairs(b *testing.B, n int) (writers, readers []net.Conn) {
	b.Helper()
	fl, err := RaiseFileLimit()
	if err != nil {
		b.Fatal(err)
	}
	if 2*n > fl.socketBudget() {
		b.Fatalf("%d socket pairs need %d open files; the limit is %d", n, 2*n, fl.Soft)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, n)
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		readers = append(readers, c)
		w, ok := <-accepted
		if !ok {
			b.Fatal("accept failed")
		}
		writers = append(writers, w)
	}
	return writers, readers
}

// BenchmarkLoopbackHTTP measures the REST ceiling of this machine: a
// fasthttp server that answers every GET with a fixed JSON body, no work
// at all, called by the rest scenario's client with 64 keep-alive
// connections (the room-detail run of `livechat bench rest`), both in one
// process. No REST endpoint can answer faster than this.
func BenchmarkLoopbackHTTP(b *testing.B) {
	for _, size := range []int{200, 3000} {
		b.Run(fmt.Sprintf("body=%d", size), func(b *testing.B) { benchLoopbackHTTP(b, size) })
	}
}

func benchLoopbackHTTP(b *testing.B, size int) {
	const concurrency = 64
	body := []byte(`{"x":"` + strings.Repeat("a", size-8) + `"}`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	defer srv.Shutdown()
	base, _ := url.Parse("http://" + ln.Addr().String())
	c := newRESTClient(base, concurrency, newDialer("127.0.0.1", 0, time.Second), 10*time.Second)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("/chat/v1/room/1/")
			req.Header.SetHost(c.host)
			req.Header.Set("Authorization", "Bearer x")
			for next.Add(1) <= int64(b.N) {
				if err := c.do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
					b.Errorf("GET: %v, status %d", err, resp.StatusCode())
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
