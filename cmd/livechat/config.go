package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"livechat/actors"
	"livechat/api"
)

// serveConfig is everything `livechat serve` can be told, from flags, the
// environment, or a .env file (in that order of precedence).
type serveConfig struct {
	addr, dataDir, secret, durability   string
	pprofAddr                           string
	inMemory, debug                     bool
	allowedHosts, corsOrigins, wsOrigin string
	shutdownTimeout                     time.Duration

	maxBody, maxHeader, maxMessageChars, maxFrame, maxOutbound, maxConns int
	messageRate                                                          float64
	messageBurst, loginRate, bcryptCost, strikeBurst                     int
	pingInterval, idleTimeout, accessTTL, refreshTTL                     time.Duration
	roomIdle, writeDelay                                                 time.Duration
	secureCookie                                                         bool
	storageReserve                                                       int
}

func parseServeFlags(args []string, getenv func(string) string) (serveConfig, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.addr, "addr", env("LIVECHAT_ADDR", "127.0.0.1:8000"), "listen address (LIVECHAT_ADDR)")
	fs.StringVar(&c.dataDir, "data", env("LIVECHAT_DATA_DIR", "./data"), "data directory (LIVECHAT_DATA_DIR)")
	fs.StringVar(&c.pprofAddr, "pprof", env("LIVECHAT_PPROF", ""), "serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.BoolVar(&c.inMemory, "in-memory", false, "keep everything in memory, nothing on disk (testing)")
	fs.StringVar(&c.secret, "secret", env("SECRET_KEY", ""), "token signing key (SECRET_KEY); generated and kept in the data directory when empty")
	fs.StringVar(&c.durability, "durability", env("LIVECHAT_DURABILITY", "fsync"), "fsync: every acknowledged message survives power loss; os: survives a killed process (LIVECHAT_DURABILITY)")
	fs.StringVar(&c.allowedHosts, "allowed-hosts", env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"), "accepted Host headers, comma-separated; * for any (ALLOWED_HOSTS)")
	fs.StringVar(&c.corsOrigins, "cors-origins", env("LIVECHAT_CORS_ORIGINS", "*"), "origins allowed by CORS, comma-separated (LIVECHAT_CORS_ORIGINS)")
	fs.StringVar(&c.wsOrigin, "ws-origins", env("LIVECHAT_WS_ORIGINS", ""), "extra origins whose pages may open sockets with the login cookie (LIVECHAT_WS_ORIGINS)")
	fs.BoolVar(&c.secureCookie, "secure-cookie", envBool(env("LIVECHAT_SECURE_COOKIE", "")), "mark the access_token cookie Secure (LIVECHAT_SECURE_COOKIE)")
	fs.BoolVar(&c.debug, "debug", envBool(env("DEBUG", "")), "debug logging (DEBUG)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", envDur(env("LIVECHAT_SHUTDOWN_TIMEOUT", ""), 15*time.Second), "how long shutdown waits for requests and sockets")
	fs.IntVar(&c.maxBody, "max-body", envInt(env("LIVECHAT_MAX_BODY", ""), 64<<10), "request body limit in bytes, 413 above")
	fs.IntVar(&c.maxHeader, "max-header", envInt(env("LIVECHAT_MAX_HEADER", ""), 8<<10), "request line and headers limit in bytes, 431 above")
	fs.IntVar(&c.maxMessageChars, "max-message-chars", envInt(env("LIVECHAT_MAX_MESSAGE_CHARS", ""), 4096), "chat message limit in characters")
	fs.IntVar(&c.maxFrame, "max-frame", envInt(env("LIVECHAT_MAX_FRAME", ""), 32<<10), "WebSocket frame limit in bytes, close 1009 above")
	fs.IntVar(&c.maxOutbound, "max-outbound", envInt(env("LIVECHAT_MAX_OUTBOUND", ""), 1<<20), "unsent bytes per socket before it is closed as a slow consumer (4008)")
	fs.IntVar(&c.maxConns, "max-conns", envInt(env("LIVECHAT_MAX_CONNS", ""), 100_000), "open sockets at most (the open-file limit may be lower)")
	fs.Float64Var(&c.messageRate, "message-rate", envFloat(env("LIVECHAT_MESSAGE_RATE", ""), 20), "chat messages per second per socket, sustained")
	fs.IntVar(&c.messageBurst, "message-burst", envInt(env("LIVECHAT_MESSAGE_BURST", ""), 40), "chat messages a socket may send at once")
	fs.IntVar(&c.strikeBurst, "strike-burst", envInt(env("LIVECHAT_STRIKE_BURST", ""), 10), "rejected frames (invalid or over the rate) a socket may send before it is closed with 1008; one is forgiven per second")
	fs.IntVar(&c.loginRate, "login-rate", envInt(env("LIVECHAT_LOGIN_RATE", ""), 10), "failed login attempts per minute per email (5x per client address); successful logins do not count")
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", envInt(env("LIVECHAT_BCRYPT_COST", ""), 10), "password hash cost")
	fs.DurationVar(&c.pingInterval, "ping-interval", envDur(env("LIVECHAT_PING_INTERVAL", ""), 30*time.Second), "ping sockets quiet for this long")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", envDur(env("LIVECHAT_IDLE_TIMEOUT", ""), 5*time.Minute), "close sockets that sent nothing, not even a pong, for this long")
	fs.DurationVar(&c.accessTTL, "access-ttl", envDur(env("LIVECHAT_ACCESS_TTL", ""), 60*time.Minute), "access token lifetime")
	fs.DurationVar(&c.refreshTTL, "refresh-ttl", envDur(env("LIVECHAT_REFRESH_TTL", ""), 24*time.Hour), "refresh token lifetime")
	fs.DurationVar(&c.writeDelay, "write-delay", envDur(env("LIVECHAT_WRITE_DELAY", ""), 5*time.Millisecond), "period of the write clock: sockets with frames are written together at its ticks, gathering frames into one write (at most this long); negative for none")
	fs.IntVar(&c.storageReserve, "storage-reserve", envInt(env("LIVECHAT_STORAGE_RESERVE", ""), 0), "free bytes kept on the data volume, writes answer 507 below it; 0: derived from the database's file sizes (331 MiB with the defaults)")
	fs.DurationVar(&c.roomIdle, "room-idle", envDur(env("LIVECHAT_ROOM_IDLE", ""), 2*time.Minute), "passivate a room idle this long")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(nil)
			fs.PrintDefaults()
		}
		return c, err
	}
	if c.durability != "fsync" && c.durability != "os" {
		return c, fmt.Errorf("durability must be fsync or os, not %q", c.durability)
	}
	return c, nil
}

// components splits the configuration into each component's Config.
func (c serveConfig) components() (actors.Config, api.Config) {
	return actors.Config{
			RoomIdleTimeout: c.roomIdle,
			MessageRate:     c.messageRate,
			MessageBurst:    c.messageBurst,
			StrikeBurst:     c.strikeBurst,
		}, api.Config{
			AccessTTL:        c.accessTTL,
			RefreshTTL:       c.refreshTTL,
			AllowedHosts:     splitList(c.allowedHosts),
			CORSOrigins:      splitList(c.corsOrigins),
			WSOrigins:        splitList(c.wsOrigin),
			SecureCookie:     c.secureCookie,
			Debug:            c.debug,
			MaxBodyBytes:     c.maxBody,
			MaxHeaderBytes:   c.maxHeader,
			MaxMessageChars:  c.maxMessageChars,
			MaxFrameBytes:    c.maxFrame,
			MaxOutboundBytes: c.maxOutbound,
			MaxConnections:   c.maxConns,
			PingInterval:     c.pingInterval,
			WriteDelay:       c.writeDelay,
			IdleTimeout:      c.idleTimeout,
			LoginRate:        c.loginRate,
			BcryptCost:       c.bcryptCost,
		}
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func envBool(s string) bool {
	b, _ := strconv.ParseBool(s)
	return b
}

func envInt(s string, def int) int {
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	return def
}

func envFloat(s string, def float64) float64 {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v
	}
	return def
}

func envDur(s string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(s); err == nil {
		return v
	}
	return def
}
