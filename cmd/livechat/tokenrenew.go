package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
)

// A socket's authority ends when the access token it was opened with
// expires: the server then closes it with 4001. So while a socket is open
// the client renews the token before that (POST /user/v1/token/refresh/,
// or a new login when the refresh token is gone) and hands the new one to
// the socket with auth.refresh; reconnects use the new token too.

// renewRetry is how soon a renewal that failed is tried again, and the
// wait when a token's lifetime cannot be read.
const renewRetry = 30 * time.Second

// renewIn is how long from now to wait before renewing the access token:
// three quarters of its lifetime after it was received, measured by the
// token's own iat and exp so that the two clocks need not agree. exp and
// iat are whole seconds, which can make the real lifetime up to a second
// shorter than exp − iat; that second is taken off first.
func (c *apiClient) renewIn(now time.Time) time.Duration {
	iat, exp, ok := tokenTimes(c.access)
	if !ok || c.accessAt.IsZero() {
		return renewRetry
	}
	life := exp.Sub(iat)
	wait := max((life-time.Second)*3/4, life/4)
	return max(c.accessAt.Add(wait).Sub(now), 0)
}

// tokenTimes reads a JWT's iat and exp without verifying it: the client
// only schedules by them, the server decides.
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

// renewOnSocket renews the access token and sends it on conn. A failed
// renewal leaves the socket alone (it is retried later, and if the token
// expires meanwhile the server's 4001 leads to a reconnect, which renews
// again); only a failed write ends the connection.
func (s *roomSocket) renewOnSocket(ctx context.Context, conn *websocket.Conn) error {
	rctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if err := s.api.renewAccess(rctx); err != nil {
		s.api.accessAt = time.Time{} // try again after renewRetry
		return nil
	}
	b, err := json.Marshal(map[string]string{"type": "auth.refresh", "token": s.api.access})
	if err != nil {
		return fmt.Errorf("encode auth.refresh: %w", err)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(sockWriteTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("send auth.refresh: %w", err)
	}
	return nil
}
