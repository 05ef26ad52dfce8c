package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/persistence"
)

// Server is the HTTP and WebSocket front end.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  *persistence.Store
	engine *actors.Engine
	tokens *tokens
	// tokenCache skips re-verifying access tokens seen before.
	tokenCache *tokenCache
	hasher     *hasher
	http       *fasthttp.Server
	conns      *connSet
	writeClock *writeClock // nil when WriteDelay is negative
	routes     routes

	loginByEmail, loginByAddr *keyLimiter
	shutdownOnce              sync.Once
	draining                  atomic.Bool // Shutdown has begun: /readyz answers 503
}

// New builds a Server over the store and the actor engine.
func New(cfg Config, store *persistence.Store, engine *actors.Engine) (*Server, error) {
	cfg = cfg.Defaults()
	if len(cfg.Secret) == 0 {
		return nil, errors.New("api: Config.Secret is required")
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, store: store, engine: engine,
		tokens:       newTokens(cfg.Secret, cfg.AccessTTL, cfg.RefreshTTL),
		tokenCache:   newTokenCache(),
		hasher:       newHasher(cfg.BcryptCost, cfg.HashConcurrency),
		conns:        newConnSet(),
		loginByEmail: newKeyLimiter(cfg.LoginRate),
		loginByAddr:  newKeyLimiter(5 * cfg.LoginRate),
	}
	if cfg.WriteDelay > 0 {
		s.writeClock = newWriteClock(cfg.WriteDelay)
	}
	s.buildRoutes()
	s.http = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleParseError,
		Name:                  "livechat",
		MaxRequestBodySize:    cfg.MaxBodyBytes,
		ReadBufferSize:        cfg.MaxHeaderBytes,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: false,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{cfg.Logger},
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	go s.conns.pingLoop(s.cfg.PingInterval, s.cfg.IdleTimeout)
	return s.http.Serve(&retryListener{Listener: ln, log: s.log})
}

// Shutdown stops accepting, waits for in-flight REST requests, then closes
// every socket with 1001 and waits for their sessions to end (bounded by
// ctx). Stop the engine, writer and store after it.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdownOnce.Do(func() {
		s.draining.Store(true)
		s.conns.stopPings()
		done := make(chan error, 1)
		go func() { done <- s.http.ShutdownWithContext(ctx) }()
		s.conns.closeAll(actors.CloseGoingAway, "server shutting down")
		s.conns.wait(ctx)
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	})
	return err
}

// Connections returns the number of open sockets.
func (s *Server) Connections() int { return s.conns.count() }

// SlowConsumers returns how many sockets were closed for falling behind.
func (s *Server) SlowConsumers() int64 { return s.conns.slowConsumers() }

// handleParseError answers requests fasthttp could not read, in JSON. The
// connection is closed after the answer, lingering so that a client still
// sending the rest of its request can read it.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	lingerOnClose(ctx.Conn())
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		s.writeError(ctx, errTooLarge)
		return
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		s.writeError(ctx, errHeadersTooLarge)
		return
	}
	writeJSON(ctx, fasthttp.StatusBadRequest, errorBody{Detail: "Malformed request."})
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("fasthttp", "msg", format, "args", args)
}
