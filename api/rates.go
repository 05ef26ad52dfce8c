package api

import (
	"crypto/sha256"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// The write rates. One limiter per kind, keyed by user or client address,
// each answering 429 in DRF's shape (see throttled). The message rate is
// per user and shared by REST posts and every socket of the user: REST
// over it is refused, a socket over it is slowed (waitMessageTurn).

// limitMessage counts a REST message post against its user's rate.
func (s *Server) limitMessage(user int64) error {
	if ok, wait := s.messageRate.take(user, time.Now()); !ok {
		return s.throttled("rate_limit", wait)
	}
	return nil
}

// limitRoom counts a room creation against its user's rate.
func (s *Server) limitRoom(user int64) error {
	if ok, wait := s.roomRate.take(user, time.Now()); !ok {
		return s.throttled("room_rate", wait)
	}
	return nil
}

// limitAvatar counts a picture upload against its user's rate.
func (s *Server) limitAvatar(user int64) error {
	if ok, wait := s.avatarRate.take(user, time.Now()); !ok {
		return s.throttled("avatar_rate", wait)
	}
	return nil
}

// limitRegister counts a registration request against its client
// address's rate.
func (s *Server) limitRegister(ctx *fasthttp.RequestCtx) error {
	if ok, wait := s.registerRate.take(clientAddr(ctx), time.Now()); !ok {
		return s.throttled("register_rate", wait)
	}
	return nil
}

// limitLogin takes a login attempt from the limits of the client address
// and of the email, or answers 429. The limits are on guesses: the caller
// gives the attempt back (giveBack) unless the password was wrong, so that
// any number of successful logins, say many users behind one proxy or one
// load generator, never wait.
//
// The address is asked first, and an attempt it refuses leaves no trace in
// the email limits: otherwise every refused request would remember its
// email until the next sweep, and one client sending logins with new
// emails would grow the server's memory as fast as it can send. Emails
// are remembered by digest, so a long one costs no more than a short one.
func (s *Server) limitLogin(ctx *fasthttp.RequestCtx, email string) (giveBack func(), err error) {
	now := time.Now()
	addr, key := clientAddr(ctx), emailKey(email)
	if ok, wait := s.loginByAddr.take(addr, now); !ok {
		return nil, s.throttled("login_rate", max(wait, s.loginByEmail.waitFor(key, now)))
	}
	if ok, wait := s.loginByEmail.take(key, now); !ok {
		s.loginByAddr.giveBack(addr)
		return nil, s.throttled("login_rate", wait)
	}
	return func() { s.loginByEmail.giveBack(key); s.loginByAddr.giveBack(addr) }, nil
}

// emailKey is what the login limits know an email by: the digest of its
// lower-cased form.
func emailKey(email string) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.ToLower(email)))
}

// throttled counts a refusal of kind and answers it in DRF's shape.
func (s *Server) throttled(kind string, wait time.Duration) error {
	s.metrics.Refused(kind)
	return throttled(wait)
}

// waitMessageTurn takes one message from user's rate for a frame read from
// c, and waits until the rate allows it: the socket is not read meanwhile,
// so a client sending faster than its rate is slowed by TCP, not refused,
// and its messages keep their order. It runs on the socket's reader, never
// in an actor. It returns false, with the turn given back, when the
// connection is closing (a close from the server, a shutdown, an idle or
// slow-consumer close, a failed write): the frame is then dropped.
func (s *Server) waitMessageTurn(c *Conn, user int64) bool {
	if c.isClosing() {
		return false
	}
	now := time.Now()
	wait := s.messageRate.reserve(user, now)
	if wait <= 0 {
		return true
	}
	// A socket held back by its own rate is not idle: no ping, no idle
	// close before it is read again.
	c.touch(now.Add(wait))
	t := time.NewTimer(wait)
	defer t.Stop()
	closed := c.closed()
	select {
	case <-t.C:
		return true
	case <-closed:
		s.messageRate.giveBack(user)
		return false
	}
}
