package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// restRun is the state of the rest scenario: Concurrency workers, each on
// its own keep-alive connection of one pooled client, alternating message
// posts and room reads.
type restRun struct {
	e      *environment
	keys   *keyring // the users' tokens, renewed
	rooms  []int64
	rec    *recorder
	post   *lockedHist
	get    *lockedHist
	status tally
}

// runREST runs the rest scenario.
func (e *environment) runREST(ctx context.Context, rep *Report) error {
	users, rooms, err := e.setup(ctx, rep)
	if err != nil {
		return err
	}
	keys := e.newKeyring(users)
	defer keys.stop()
	ph := e.startPhase()
	rr := &restRun{e: e, keys: keys, rooms: rooms, rec: newRecorder(ph.start, e.cfg.Concurrency),
		post: newLockedHist(), get: newLockedHist()}
	start := time.Now()
	stopAt := start.Add(e.cfg.Duration)
	var wg sync.WaitGroup
	for w := range e.cfg.Concurrency {
		wg.Go(func() { rr.worker(ctx, w, stopAt) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	keys.stop()
	rep.TokenRenewals = keys.renewals.Load()
	if note := renewNote(keys.failures.Load()); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	ph.stop(rep)
	total, perSec := rr.rec.merge()
	x := &RESTStats{
		Requests: e.c.requests.Load(),
		Errors:   e.c.reqErrors.Load(),
		Status:   rr.status.snapshot(),
		Post:     rr.post.stats(),
		Get:      rr.get.stats(),
	}
	x.PerSec = round3(float64(x.Requests) / elapsed.Seconds())
	rep.REST, rep.LatencyTimeline, rep.Distribution = x, perSec, distribution(total)
	return ctx.Err()
}

// worker sends requests until stopAt: back to back, or paced when Rate
// (total requests/s) is set.
func (rr *restRun) worker(ctx context.Context, w int, stopAt time.Time) {
	cfg := rr.e.cfg
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	room := rr.rooms[w%len(rr.rooms)]
	host := rr.e.node(w).rest.host // worker w posts and reads on node w
	var pace <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(interval(cfg.Rate / float64(cfg.Concurrency)))
		defer t.Stop()
		pace = t.C
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	body := make([]byte, 0, cfg.MsgSize+64)
	for n := int64(0); time.Now().Before(stopAt) && ctx.Err() == nil; n++ {
		if pace != nil {
			select {
			case <-pace:
			case <-ctx.Done():
				return
			}
		}
		isGet := rng.Float64() < cfg.GetRatio
		tok := rr.keys.token(w)
		if isGet {
			rr.prepareGet(req, host, tok, room)
		} else {
			body = rr.preparePost(req, body, host, tok, room, payload{sender: w, n: n, sent: time.Now().UnixNano()})
		}
		rr.one(req, resp, w, isGet)
	}
}

// one sends a prepared request and accounts for it.
func (rr *restRun) one(req *fasthttp.Request, resp *fasthttp.Response, w int, isGet bool) {
	t0 := time.Now()
	err := rr.e.node(w).rest.do(req, resp)
	now := time.Now()
	rr.e.c.requests.Add(1)
	if err != nil {
		rr.e.c.reqErrors.Add(1)
		rr.status.add("error: " + failReason(err))
		return
	}
	code := resp.StatusCode()
	rr.status.add(strconv.Itoa(code))
	if code/100 != 2 {
		rr.e.c.reqErrors.Add(1)
		return
	}
	d := now.Sub(t0)
	rr.rec.record(w, now, d)
	if isGet {
		rr.get.record(d)
	} else {
		rr.post.record(d)
	}
}

// prepareGet sets req to GET /chat/v1/room/{room}/.
func (rr *restRun) prepareGet(req *fasthttp.Request, host, tok string, room int64) {
	req.Reset()
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI("/chat/v1/room/" + strconv.FormatInt(room, 10) + "/")
	rr.headers(req, host, tok)
}

// preparePost sets req to POST /chat/v1/message/ with a bench payload.
func (rr *restRun) preparePost(req *fasthttp.Request, body []byte, host, tok string, room int64, p payload) []byte {
	req.Reset()
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("/chat/v1/message/")
	rr.headers(req, host, tok)
	req.Header.SetContentType("application/json")
	body = append(body[:0], `{"message":"`...)
	body = appendPayload(body, p, rr.e.cfg.MsgSize)
	body = fmt.Appendf(body, `","room":%d}`, room)
	req.SetBody(body)
	return body
}

// headers sets the host and the bearer token.
func (rr *restRun) headers(req *fasthttp.Request, host, tok string) {
	req.Header.SetHost(host)
	req.Header.Set("Authorization", "Bearer "+tok)
}
