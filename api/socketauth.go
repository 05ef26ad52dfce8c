package api

import (
	"sync/atomic"
	"time"

	"livechat/actors"
)

// Token lifetime on sockets. A socket acts with the authority of the access
// token it was opened with, and that authority ends when the token expires:
// the server then sends chat.error token_expired and closes with 4001. An
// auth.refresh frame carrying a newer access token of the same user moves
// the end to that token's expiry.
//
// Each socket keeps its user and the expiry (16 bytes in its Conn); one
// goroutine sweeps every socket once a second, which costs an idle socket
// nothing more. A token's exp is in whole seconds, so a finer clock would
// not be more exact: a socket is closed within a second of its token's
// expiry.

// expirySweep is how often sockets are checked for expired authority.
const expirySweep = time.Second

// authExpired marks a socket whose authority has ended.
const authExpired = -1

// tokenExpiredFrame is sent to a socket before its 4001 close.
var tokenExpiredFrame = actors.ErrorFrame(actors.ErrorTokenExpired,
	"access token expired: reconnect with a new token and since, or send auth.refresh before it expires")

// socketAuth is the user a socket acts for and when its authority ends.
type socketAuth struct {
	user    int64
	expires atomic.Int64 // unix seconds, or authExpired
}

// start sets the socket's user and the expiry of its opening token. It is
// called before the socket joins the connSet, so that the sweep never sees
// it unset.
func (a *socketAuth) start(user int64, expires time.Time) {
	a.user = user
	a.expires.Store(expires.Unix())
}

// extend moves the end of authority to expires when that is later. It
// reports false when the authority has already ended.
func (a *socketAuth) extend(expires time.Time) bool {
	e := expires.Unix()
	for {
		old := a.expires.Load()
		if old == authExpired {
			return false
		}
		if e <= old || a.expires.CompareAndSwap(old, e) {
			return true
		}
	}
}

// expire ends the authority if it expired by now (unix seconds) and
// reports whether it did; only one caller ever gets true.
func (a *socketAuth) expire(now int64) bool {
	old := a.expires.Load()
	return old != authExpired && old <= now && a.expires.CompareAndSwap(old, authExpired)
}

// refreshSocket answers auth.refresh: a valid access token of the socket's
// own user extends its authority to that token's expiry. Any other token
// (invalid, expired, a refresh token, another user's) is refused with
// chat.error invalid_request, counts as a rejected frame, and changes
// nothing: the socket keeps the authority it had.
func (s *Server) refreshSocket(c *Conn, sess socketSession, token string) {
	u, err := s.userForToken(token)
	switch {
	case err != nil:
		sess.Invalid("auth.refresh: not a valid access token (malformed, expired, or not an access token)")
	case u.Id != c.auth.user:
		sess.Invalid("auth.refresh: the token is another user's")
	default:
		c.auth.extend(u.expires)
	}
}

// expireLoop closes, once a second, the sockets whose authority ended.
func (cs *connSet) expireLoop() {
	t := time.NewTicker(expirySweep)
	defer t.Stop()
	var due []*Conn
	for {
		select {
		case <-cs.stop:
			return
		case now := <-t.C:
			due = cs.expired(now.Unix(), due[:0])
			for _, c := range due {
				c.Send(tokenExpiredFrame)
				c.Close(actors.CloseTokenExpired, "token expired")
			}
			clear(due)
		}
	}
}

// expired appends the sockets whose authority ended by now to due. It
// reads one atomic per socket under the set's lock and closes nothing
// while holding it.
func (cs *connSet) expired(now int64, due []*Conn) []*Conn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for c := range cs.conns {
		if c.auth.expire(now) {
			due = append(due, c)
		}
	}
	return due
}
