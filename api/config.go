package api

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the HTTP and WebSocket front end. Zero fields take the
// defaults noted; Defaults applies them.
type Config struct {
	// Secret signs tokens (HS256). Required.
	Secret []byte
	// AccessTTL is the access token lifetime. Default 60m.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime. Default 24h.
	RefreshTTL time.Duration
	// AllowedHosts are the Host header values accepted, as in Django:
	// exact names, ".example.com" for a domain and its subdomains, "*" for
	// any. Default localhost, 127.0.0.1, [::1].
	AllowedHosts []string
	// CORSOrigins are the origins REST answers cross-origin requests from;
	// "*" (default) allows any, since the API is Bearer-token based. An
	// origin named here (not "*") may also log in (see checkLoginOrigin).
	CORSOrigins []string
	// WSOrigins are the origins, besides LiveChat's own, whose pages may
	// log in and open sockets authenticated by the login cookie. Default none.
	WSOrigins []string
	// SecureCookie marks the access_token cookie Secure. Default false.
	SecureCookie bool
	// Debug adds internal error details to logs. Default false.
	Debug bool

	// MaxBodyBytes caps a request body (413 above). Default 64 KiB.
	MaxBodyBytes int
	// MaxAvatarBytes caps an uploaded profile picture (400 above); a
	// multipart body on the profile path may hold it plus 64 KiB (413
	// above). Default 2 MiB.
	MaxAvatarBytes int
	// AvatarRate is picture uploads per user per hour (429 above).
	// Default 20.
	AvatarRate int
	// MaxHeaderBytes caps a request's line and headers (431 above); it is
	// also the HTTP read buffer of a connection. Default 8 KiB.
	MaxHeaderBytes int
	// MaxMessageChars caps a chat message, in characters. Default 4096.
	MaxMessageChars int
	// MaxFrameBytes is the WebSocket read limit (close 1009 above).
	// Default frameBytesFor(MaxMessageChars): 49.75 KiB for 4096
	// characters, so that a maximal message fits however it is escaped.
	MaxFrameBytes int
	// MaxOutboundBytes bounds a socket's queue of unsent frames; a client
	// that falls further behind is closed with 4008. Default 1 MiB.
	MaxOutboundBytes int
	// MaxConnections caps open sockets (503 above). Default 100000 (the
	// open-file limit is usually lower and is the real cap).
	MaxConnections int
	// MaxOpenConns caps the TCP connections open in all, REST and sockets
	// alike; one more is answered 503 and closed at accept. 0: no cap.
	// The server sets it to the open-file limit less the descriptors kept
	// for the database.
	MaxOpenConns int
	// MaxConnsPerIP caps the TCP connections open from one client address,
	// REST and sockets alike; one more is answered 429 and closed at
	// accept. Default 256.
	MaxConnsPerIP int
	// HeaderTimeout bounds the arrival of a request's line and headers,
	// from the connection's opening or a kept-alive request's first byte.
	// Default 5s.
	HeaderTimeout time.Duration
	// KeepAliveTimeout is how long an idle REST keep-alive connection is
	// kept open. Default 2 minutes.
	KeepAliveTimeout time.Duration
	// MaxUserSockets caps one user's open sockets, over every room (429
	// before the upgrade above). Default 32.
	MaxUserSockets int
	// ClientPingRate and ClientPingBurst bound the pings a client may send
	// (per second, and at once); a ping past them is not answered and
	// counts as a bad frame, so a client that keeps pinging is closed
	// with 1008. Defaults 1/s and 10.
	ClientPingRate  float64
	ClientPingBurst int
	// WriteTimeout bounds one socket write. Default 10s.
	WriteTimeout time.Duration
	// WriteDelay is the period of the write clock. A quiet socket (not
	// written within ten periods) is written as soon as it has a frame
	// (by the sender itself, when it was not written twice within ten
	// periods and no busy socket waits for a tick); a busy one (written
	// within ten periods) is written at the clock's
	// next tick, together with every other busy socket, so that its frames
	// of the window share one system call. Default 5ms: a lone message pays
	// no delay, and in a busy room the clock cuts the system calls of both
	// server and clients several times. Negative: no clock, every socket
	// is written as soon as it has frames.
	WriteDelay time.Duration
	// PingInterval is how often idle sockets are pinged. Default 30s.
	PingInterval time.Duration
	// IdleTimeout closes a socket that sent nothing, not even a pong, for
	// this long. Default 5m: generous, so that a terminal client that only
	// reads between inputs is not dropped.
	IdleTimeout time.Duration
	// MessageRate is the sustained chat message rate per user, per second,
	// shared by the user's REST posts and every socket: a socket over it is
	// read more slowly (never refused), a REST post over it answered 429.
	// Default 20.
	MessageRate float64
	// MessageBurst is how many messages a user may send at once above
	// MessageRate. Default 40.
	MessageBurst int
	// TypingRate is how many chat.typing frames per second a socket may
	// send (as many at once); past it only the newest is passed on, when
	// the rate allows, neither refused nor counted as a bad frame.
	// Default 2.
	TypingRate float64
	// ReadRate is how many chat.read frames per second a socket may send
	// (as many at once); past it only the highest mark is passed on, when
	// the rate allows, neither refused nor counted as a bad frame.
	// Default 10.
	ReadRate float64
	// RoomRate is room creations per user per minute (429 above).
	// Default 10.
	RoomRate int
	// MemberAddRate is member additions per user per minute, joining
	// included (429 above). Default 60.
	MemberAddRate int
	// RegisterRate is registration requests per client address per minute
	// (429 above). Default 10.
	RegisterRate int
	// LoginRate is failed login attempts per minute allowed per email and
	// per client address (429 above; successful logins do not count).
	// Default 10 per email, 5× that per address.
	LoginRate int
	// HashConcurrency bounds concurrent password hashes. Default 2× CPUs.
	HashConcurrency int
	// BcryptCost is the password hash cost. Default 10.
	BcryptCost int
	// RoomPageSize is the default room list limit; RoomPageMax the largest.
	// Defaults 100 and 1000.
	RoomPageSize, RoomPageMax int
	// TokenCacheBytes bounds the cache of verified access tokens. Default
	// 8 MiB (about 25,000 tokens).
	TokenCacheBytes int64
	// Logger for the front end. Default slog.Default().
	Logger *slog.Logger
	// Metrics receives the front end's measurements. Default: metrics on
	// a registry of their own that nothing reads.
	Metrics *Metrics
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setInt := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	setDur(&c.AccessTTL, 60*time.Minute)
	setDur(&c.RefreshTTL, 24*time.Hour)
	setDur(&c.WriteTimeout, 10*time.Second)
	setDur(&c.PingInterval, 30*time.Second)
	if c.WriteDelay == 0 {
		c.WriteDelay = 5 * time.Millisecond
	}
	setDur(&c.IdleTimeout, 5*time.Minute)
	if c.AllowedHosts == nil {
		c.AllowedHosts = []string{"localhost", "127.0.0.1", "[::1]"}
	}
	if c.CORSOrigins == nil {
		c.CORSOrigins = []string{"*"}
	}
	setInt(&c.MaxBodyBytes, 64<<10)
	setInt(&c.MaxHeaderBytes, 8<<10)
	setInt(&c.MaxAvatarBytes, 2<<20)
	setInt(&c.AvatarRate, 20)
	setInt(&c.MaxMessageChars, 4096)
	setInt(&c.MaxFrameBytes, frameBytesFor(c.MaxMessageChars))
	setInt(&c.MaxOutboundBytes, 1<<20)
	setInt(&c.MaxConnections, 100_000)
	setInt(&c.MaxUserSockets, 32)
	setInt(&c.MaxConnsPerIP, 256)
	setDur(&c.HeaderTimeout, 5*time.Second)
	setDur(&c.KeepAliveTimeout, 2*time.Minute)
	if c.ClientPingRate <= 0 {
		c.ClientPingRate = 1
	}
	setInt(&c.ClientPingBurst, 10)
	if c.MessageRate <= 0 {
		c.MessageRate = 20
	}
	setInt(&c.MessageBurst, 40)
	if c.TypingRate <= 0 {
		c.TypingRate = 2
	}
	if c.ReadRate <= 0 {
		c.ReadRate = 10
	}
	setInt(&c.RoomRate, 10)
	setInt(&c.MemberAddRate, 60)
	setInt(&c.RegisterRate, 10)
	setInt(&c.LoginRate, 10)
	setInt(&c.HashConcurrency, 2*runtime.NumCPU())
	setInt(&c.BcryptCost, 10)
	setInt(&c.RoomPageSize, 100)
	setInt(&c.RoomPageMax, 1000)
	if c.TokenCacheBytes <= 0 {
		c.TokenCacheBytes = 8 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return c
}

// frameBytesFor is the smallest read limit that lets a message of maxChars
// characters through however a client encodes it: the longest JSON form of
// a character is a \u escape of a surrogate pair (12 bytes), the same for a
// maximal client_id, plus 1 KiB for the frame's keys, their escapes and
// spacing.
func frameBytesFor(maxChars int) int {
	return 12*(maxChars+maxClientIDChars) + 1<<10
}
