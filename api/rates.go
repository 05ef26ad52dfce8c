package api

import (
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

// limitRegister counts a registration request against its client
// address's rate.
func (s *Server) limitRegister(ctx *fasthttp.RequestCtx) error {
	if ok, wait := s.registerRate.take(clientAddr(ctx), time.Now()); !ok {
		return s.throttled("register_rate", wait)
	}
	return nil
}

// limitLogin takes a login attempt from the limits of the email and of the
// client address, or answers 429. The limits are on guesses: the caller
// gives the attempt back (giveBack) unless the password was wrong, so that
// any number of successful logins, say many users behind one proxy or one
// load generator, never wait.
func (s *Server) limitLogin(ctx *fasthttp.RequestCtx, email string) (giveBack func(), err error) {
	now := time.Now()
	email, addr := strings.ToLower(email), clientAddr(ctx)
	okE, waitE := s.loginByEmail.take(email, now)
	okA, waitA := s.loginByAddr.take(addr, now)
	if okE && okA {
		return func() { s.loginByEmail.giveBack(email); s.loginByAddr.giveBack(addr) }, nil
	}
	if okE {
		s.loginByEmail.giveBack(email)
	}
	if okA {
		s.loginByAddr.giveBack(addr)
	}
	return nil, s.throttled("login_rate", max(waitE, waitA))
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
