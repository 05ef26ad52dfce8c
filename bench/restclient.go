package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// errStatus reports an HTTP answer other than the one expected.
var errStatus = errors.New("bench: unexpected status")

// statusError is an HTTP answer other than 2xx. It unwraps to errStatus.
type statusError struct {
	method, path string
	code         int
	body         string
	retryAfter   time.Duration // from a Retry-After header, in seconds
}

// Error says which call answered what, with the start of the body.
func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %.200s", e.method, e.path, e.code, e.body)
}

// Unwrap makes errors.Is(err, errStatus) true.
func (e *statusError) Unwrap() error { return errStatus }

// restClient calls the server's REST API over keep-alive connections.
type restClient struct {
	hc      *fasthttp.HostClient
	host    string
	timeout time.Duration
}

// newRESTClient returns a client for base with at most maxConns
// connections, dialled by d.
func newRESTClient(base *url.URL, maxConns int, d *dialer, timeout time.Duration) *restClient {
	hc := &fasthttp.HostClient{
		Addr:                hostPort(base),
		IsTLS:               base.Scheme == "https",
		Dial:                d.Dial,
		MaxConns:            maxConns,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         timeout,
		WriteTimeout:        timeout,
		MaxConnWaitTimeout:  timeout,
	}
	return &restClient{hc: hc, host: base.Host, timeout: timeout}
}

// hostPort returns base's host with an explicit port.
func hostPort(base *url.URL) string {
	if base.Port() != "" {
		return base.Host
	}
	if base.Scheme == "https" {
		return base.Host + ":443"
	}
	return base.Host + ":80"
}

// call sends method path with an optional JSON body and bearer token and
// returns the status; a 2xx body is decoded into out when out is not nil.
func (c *restClient) call(ctx context.Context, method, path, token string, body, out any) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost(c.host)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode %s body: %w", path, err)
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	timeout := c.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := c.hc.DoTimeout(req, resp, timeout); err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	status := resp.StatusCode()
	if status/100 != 2 {
		ra, _ := strconv.Atoi(string(resp.Header.Peek("Retry-After")))
		return status, &statusError{method: method, path: path, code: status, body: string(resp.Body()),
			retryAfter: time.Duration(ra) * time.Second}
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			return status, fmt.Errorf("decode %s answer: %w", path, err)
		}
	}
	return status, nil
}

// do sends a prepared request; the REST scenario reuses its requests.
func (c *restClient) do(req *fasthttp.Request, resp *fasthttp.Response) error {
	return c.hc.DoTimeout(req, resp, c.timeout)
}
