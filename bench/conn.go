package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
)

// closeWait bounds the close handshake of one socket.
const closeWait = time.Second

// handshakeError is a WebSocket handshake refused with an HTTP status.
type handshakeError struct{ status int }

// Error names the status.
func (e *handshakeError) Error() string { return "handshake refused: status " + strconv.Itoa(e.status) }

// newWSDialer returns the WebSocket dialer of a run. Idle runs (capacity,
// churn) use small read buffers to hold many sockets; traffic runs read
// 16 KiB at a time, so that one system call takes in all the frames a
// coalescing server wrote at once and the load generator does not become
// the bottleneck it measures.
func newWSDialer(d *dialer, timeout time.Duration, idle bool) *websocket.Dialer {
	readBuf := 16 << 10
	if idle {
		readBuf = 1024
	}
	return &websocket.Dialer{
		NetDialContext:   d.DialContext,
		HandshakeTimeout: timeout,
		ReadBufferSize:   readBuf,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
	}
}

// socketURL is the room's WebSocket URL with the access token and, when
// not empty, the optional frame groups asked for (events=typing,read).
func socketURL(wsBase string, room int64, token, events string) string {
	u := wsBase + "/ws/chat/" + strconv.FormatInt(room, 10) + "/chat/?token=" + token
	if events != "" {
		u += "&events=" + events
	}
	return u
}

// inboxURL is the user's inbox socket URL with the access token.
func inboxURL(wsBase, token string) string { return wsBase + "/ws/inbox/?token=" + token }

// openSocket opens one authenticated socket at u; what names it in errors.
func openSocket(ctx context.Context, wd *websocket.Dialer, u, what string) (*websocket.Conn, error) {
	c, resp, err := wd.DialContext(ctx, u, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			return nil, fmt.Errorf("open %s: %w", what, &handshakeError{status: resp.StatusCode})
		}
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// closeSocket closes c politely: a close frame with 1000, then the TCP
// connection. It never blocks longer than closeWait.
func closeSocket(c *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench done")
	_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
	_ = c.Close()
}

// failReason classifies a failed open or a dropped socket into a short
// reason for the report; the few reasons that matter for capacity planning
// (file descriptor and port exhaustion) are named as such.
func failReason(err error) string {
	var he *handshakeError
	var ne net.Error
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &he):
		return "http " + strconv.Itoa(he.status)
	case errors.As(err, &ce):
		return "closed " + strconv.Itoa(ce.Code)
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return reasonFDLimit
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no free local port"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, websocket.ErrBadHandshake):
		return "bad handshake"
	case errors.Is(err, net.ErrClosed), errors.Is(err, websocket.ErrCloseSent):
		return "socket closed"
	}
	return "other"
}

// reasonFDLimit is the failure reason of an open refused by RLIMIT_NOFILE.
const reasonFDLimit = "too many open files"

// tally counts occurrences of short reasons. Safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int64
}

// add counts one reason.
func (t *tally) add(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]int64)
	}
	t.m[reason]++
}

// snapshot returns a copy of the counts (nil when empty).
func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

// wsBase turns the server's http(s) base URL into its ws(s) base, without
// a trailing slash.
func wsBase(server string) string {
	server = strings.TrimRight(server, "/")
	if rest, ok := strings.CutPrefix(server, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(server, "http://")
}
