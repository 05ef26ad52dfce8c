package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// A socket's authority ends when the access token it was opened with
// expires: the server then sends chat.error token_expired and closes it
// with 4001. A run longer than the token's lifetime therefore renews, per
// account and not per socket: one timer per account fires at three
// quarters of the token's lifetime, gets a new access token with the
// account's refresh token (POST /user/v1/token/refresh/), sends it with
// auth.refresh on every socket the account has open, and later opens use
// it. A run shorter than the lifetime never renews.

// errNoAccess is a refresh answer without an access token.
var errNoAccess = errors.New("no access token in the refresh answer")

// renewRetryMax caps the wait before a failed renewal is tried again.
const renewRetryMax = 30 * time.Second

// wsock is an open socket and the lock that keeps its writes one at a
// time: a sender's messages, the warm-up and a renewal's auth.refresh
// never interleave. Reads and control frames (pong, close) do not take it.
type wsock struct {
	*websocket.Conn
	wmu sync.Mutex
	// pub, on a socket to a peer server (Config.Peer), wraps each frame
	// written into the peer's publish command.
	pub *publisher
}

// write sends one text frame, bounded by writeWait.
func (s *wsock) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.pub != nil {
		b = s.pub.wrap(b)
	}
	return s.writeLocked(b)
}

// writeRaw sends one text frame as it is, even on a socket to a peer.
func (s *wsock) writeRaw(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeLocked(b)
}

func (s *wsock) writeLocked(b []byte) error {
	_ = s.SetWriteDeadline(time.Now().Add(writeWait))
	return s.WriteMessage(websocket.TextMessage, b)
}

// key is the tokens of one account and the sockets open with them. access
// is read without the lock (every REST request of the rest scenario reads
// it) but replaced under it.
type key struct {
	idx     int // the account's index: its renewals go to node(idx)
	access  atomic.Pointer[string]
	mu      sync.Mutex
	refresh string
	socks   []*wsock
	timer   *time.Timer
}

// keyring renews the access tokens of a run's accounts while the run
// holds sockets with them. Safe for concurrent use.
type keyring struct {
	e        *environment
	keys     []*key
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex // guards stopped and wg.Add
	stopped  bool
	wg       sync.WaitGroup
	renewals atomic.Int64
	failures atomic.Int64
}

// newKeyring starts renewing the tokens of accts; stop ends it.
func (e *environment) newKeyring(accts []account) *keyring {
	ctx, cancel := context.WithCancel(context.Background())
	kr := &keyring{e: e, keys: make([]*key, len(accts)), ctx: ctx, cancel: cancel}
	for i, a := range accts {
		k := &key{idx: i, refresh: a.Refresh}
		k.access.Store(&a.Token)
		kr.keys[i] = k
		if wait, ok := renewIn(a.Token, a.At, time.Now()); ok && k.refresh != "" {
			k.mu.Lock() // a timer due at once fires before AfterFunc returns
			k.timer = time.AfterFunc(wait, func() { kr.fire(k) })
			k.mu.Unlock()
		}
	}
	return kr
}

// token is the current access token of account i (modulo the accounts).
func (kr *keyring) token(i int) string {
	if len(kr.keys) == 0 { // a peer server: no accounts
		return ""
	}
	return *kr.keys[i%len(kr.keys)].access.Load()
}

// attach registers s, opened with token used, as a socket of account i;
// when a renewal replaced that token while s was opening, s gets the new
// one at once.
func (kr *keyring) attach(i int, s *wsock, used string) {
	if len(kr.keys) == 0 {
		return
	}
	k := kr.keys[i%len(kr.keys)]
	k.mu.Lock()
	k.socks = append(k.socks, s)
	cur := *k.access.Load()
	k.mu.Unlock()
	if cur != used {
		_ = s.write(refreshFrame(cur)) // a failed write is the socket's reader's to count
	}
}

// stop ends renewals and waits for any in progress. Idempotent.
func (kr *keyring) stop() {
	kr.mu.Lock()
	kr.stopped = true
	kr.mu.Unlock()
	kr.cancel()
	for _, k := range kr.keys {
		k.mu.Lock()
		if k.timer != nil {
			k.timer.Stop()
		}
		k.mu.Unlock()
	}
	kr.wg.Wait()
}

// renewNote says, in words, when renewals failed.
func renewNote(failures int64) string {
	if failures > 0 {
		return fmt.Sprintf("token renewals failed %d times: sockets may have been closed with 4001", failures)
	}
	return ""
}

// fire is the timer of account k: renew unless the keyring stopped.
func (kr *keyring) fire(k *key) {
	kr.mu.Lock()
	if kr.stopped {
		kr.mu.Unlock()
		return
	}
	kr.wg.Add(1)
	kr.mu.Unlock()
	defer kr.wg.Done()
	kr.renew(k)
}

// renew gets a new access token for k, sends it on k's sockets and
// schedules the next renewal; a failure is tried again sooner, while the
// old token still holds.
func (kr *keyring) renew(k *key) {
	k.mu.Lock()
	old, refresh := *k.access.Load(), k.refresh
	k.mu.Unlock()
	_, exp, _ := tokenTimes(old)
	// Try until the old token expires, and for a while after when it is
	// already past (later opens need a token all the same).
	ctx, cancel := context.WithDeadline(kr.ctx, later(exp, time.Now().Add(kr.e.cfg.DialTimeout)))
	defer cancel()
	var out struct {
		Access string `json:"access"`
	}
	at := time.Now()
	rest := kr.e.node(k.idx).rest
	err := retry(ctx, func() (int, error) {
		return rest.call(ctx, http.MethodPost, "/user/v1/token/refresh/", "", map[string]string{"refresh": refresh}, &out)
	})
	if err == nil && out.Access == "" {
		err = errNoAccess
	}
	if err != nil {
		if kr.ctx.Err() != nil {
			return
		}
		kr.failures.Add(1)
		kr.e.log.Warn("token renewal failed", slog.Any("err", err))
		k.mu.Lock()
		k.timer.Reset(retryIn(old))
		k.mu.Unlock()
		return
	}
	k.mu.Lock()
	k.access.Store(&out.Access)
	socks := slices.Clone(k.socks)
	k.mu.Unlock()
	frame := refreshFrame(out.Access)
	for _, s := range socks {
		if kr.ctx.Err() != nil {
			return
		}
		_ = s.write(frame) // a closed socket is counted by its reader
	}
	kr.renewals.Add(1)
	if wait, ok := renewIn(out.Access, at, time.Now()); ok {
		k.mu.Lock()
		k.timer.Reset(wait)
		k.mu.Unlock()
	}
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// refreshFrame is the auth.refresh frame for token (a JWT: nothing to
// escape).
func refreshFrame(token string) []byte {
	return []byte(`{"type":"auth.refresh","token":"` + token + `"}`)
}

// renewIn is how long from now to wait before renewing a token received
// at: three quarters of its lifetime, measured by the token's own iat and
// exp so that the two clocks need not agree. exp and iat are whole
// seconds, which can make the real lifetime up to a second shorter than
// exp − iat; that second is taken off first. ok is false when the token's
// lifetime cannot be read: such a token is never renewed.
func renewIn(token string, at, now time.Time) (time.Duration, bool) {
	iat, exp, ok := tokenTimes(token)
	if !ok {
		return 0, false
	}
	life := exp.Sub(iat)
	wait := max((life-time.Second)*3/4, life/4)
	return max(at.Add(wait).Sub(now), 0), true
}

// retryIn is the wait before trying a failed renewal of token again: an
// eighth of its lifetime, at most renewRetryMax.
func retryIn(token string) time.Duration {
	iat, exp, ok := tokenTimes(token)
	if !ok {
		return renewRetryMax
	}
	return min(max(exp.Sub(iat)/8, 100*time.Millisecond), renewRetryMax)
}

// tokenTimes reads a JWT's iat and exp without verifying it: the load
// generator only schedules by them, the server decides.
func tokenTimes(token string) (iat, exp time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return iat, exp, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return iat, exp, false
	}
	var claims struct {
		Iat, Exp float64
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= claims.Iat || claims.Iat <= 0 {
		return iat, exp, false
	}
	return time.Unix(int64(claims.Iat), 0), time.Unix(int64(claims.Exp), 0), true
}
