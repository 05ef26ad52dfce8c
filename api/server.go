package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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
	hostWarn   logThrottle // refused Host headers, logged sparingly
	// routeLabels interns the route label of each fixed path.
	routeLabels map[string]string
	metrics     *Metrics
	warnLimit   *logLimiter // warnings and errors a client can cause

	// Write rates (rates.go): messages and room creations per user,
	// registrations and failed logins per client address (and per email).
	messageRate, roomRate *keyLimiter[int64]
	memberAddRate         *keyLimiter[int64]
	avatarRate            *keyLimiter[int64]
	// decodes holds a slot per picture being decoded: a decode may hold
	// hundreds of megabytes and a second of CPU.
	decodes      chan struct{}
	largeDecode  chan struct{} // taken by a decode that needs every slot
	registerRate *keyLimiter[string]
	loginByEmail *keyLimiter[[sha256.Size]byte]
	loginByAddr  *keyLimiter[string]
	shutdownOnce sync.Once
	// life ends when Shutdown begins; waits inside handlers derive from it.
	life     context.Context
	endLife  context.CancelFunc
	draining atomic.Bool // Shutdown has begun: /readyz answers 503
	lnMu     sync.Mutex  // orders Serve's start against Shutdown
	ln       *retryListener
}

// New builds a Server over the store and the actor engine.
func New(cfg Config, store *persistence.Store, engine *actors.Engine) (*Server, error) {
	cfg = cfg.Defaults()
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("api: Config.Secret has %d bytes, at least %d are required", len(cfg.Secret), MinSecretBytes)
	}
	life, endLife := context.WithCancel(context.Background())
	s := &Server{
		life:    life,
		endLife: endLife,
		cfg:     cfg, log: cfg.Logger, store: store, engine: engine,
		tokens:        newTokens(cfg.Secret, cfg.AccessTTL, cfg.RefreshTTL),
		tokenCache:    newTokenCache(cfg.TokenCacheBytes),
		hasher:        newHasher(cfg.BcryptCost, cfg.HashConcurrency),
		conns:         newConnSet(),
		messageRate:   perSecond[int64](cfg.MessageRate, cfg.MessageBurst),
		roomRate:      perMinute[int64](cfg.RoomRate),
		memberAddRate: perMinute[int64](cfg.MemberAddRate),
		avatarRate:    perHour[int64](cfg.AvatarRate),
		decodes:       make(chan struct{}, pictureDecodes),
		largeDecode:   make(chan struct{}, 1),
		registerRate:  perMinute[string](cfg.RegisterRate),
		loginByEmail:  perMinute[[sha256.Size]byte](cfg.LoginRate),
		loginByAddr:   perMinute[string](5 * cfg.LoginRate),
		metrics:       cfg.Metrics,
		warnLimit:     newLogLimiter(),
	}
	if cfg.WriteDelay > 0 {
		s.writeClock = newWriteClock(cfg.WriteDelay)
	}
	s.buildRoutes()
	s.buildRouteLabels()
	engine.OnMemberAdded(func(room, user int64) { s.inboxRoomAdd(room, user) })
	s.metrics.watch(s)
	s.http = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleParseError,
		Name:                  "livechat",
		MaxRequestBodySize:    cfg.MaxBodyBytes,
		ReadBufferSize:        cfg.MaxHeaderBytes,
		ReadTimeout:           cfg.HeaderTimeout, // see HeaderReceived
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           cfg.KeepAliveTimeout,
		NoDefaultServerHeader: false,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{cfg.Logger},

		// The request line and headers must arrive within HeaderTimeout
		// (ReadTimeout) of the connection's opening, or of a kept-alive
		// request's first byte (slowloris); the body then has bodyTimeout.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: bodyTimeout, MaxRequestBodySize: s.maxBody(h)}
		},
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	rl := newRetryListener(ln, s.log, s.cfg.MaxConnsPerIP, s.cfg.MaxOpenConns, s.metrics.Refused)
	s.lnMu.Lock()
	if s.draining.Load() {
		s.lnMu.Unlock()
		return nil // Shutdown came first
	}
	s.ln = rl
	s.lnMu.Unlock()
	go s.conns.pingLoop(s.cfg.PingInterval, s.cfg.IdleTimeout)
	go s.conns.expireLoop()
	err := s.http.Serve(rl)
	if s.draining.Load() && errors.Is(err, net.ErrClosed) {
		return nil // Shutdown closed the listener before fasthttp took it
	}
	return err
}

// Shutdown stops accepting, waits for in-flight REST requests, then closes
// every socket with 1001 and waits for their sessions to end (bounded by
// ctx). Stop the engine, writer and store after it.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdownOnce.Do(func() {
		s.endLife()
		s.lnMu.Lock()
		s.draining.Store(true)
		ln := s.ln
		s.lnMu.Unlock()
		if ln != nil {
			// fasthttp closes only the listeners its Serve has taken: a
			// Shutdown right after Serve began must close it itself.
			_ = ln.Close()
		}
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

// TokenCacheBytes reports the memory held by the cache of verified access
// tokens and its bound (Config.TokenCacheBytes), for metrics.
func (s *Server) TokenCacheBytes() (held, budget int64) {
	return s.tokenCache.held(), s.cfg.TokenCacheBytes
}

// SlowConsumers returns how many sockets were closed for falling behind.
func (s *Server) SlowConsumers() int64 { return s.conns.slowConsumers() }

// pictureDecodes is how many pictures are decoded at once, whatever the
// number of uploads: two bound the memory (up to 40 megapixels each) and
// keep a core for everything else.
const pictureDecodes = 2

// maxBody is how much of a request's body is read (413 above):
// MaxBodyBytes, except for a multipart profile update, which may carry a
// picture. That one is read up to twice the picture limit plus the slack,
// so that a picture over its limit is told apart (400 on the field) from
// a body too large for other reasons (413, from readProfilePatch). The
// larger limit needs a valid access token in the headers: a body is held
// in memory before any handler runs, and without that check anyone could
// hold 4 MiB per connection (250 stalled uploads from one address held
// 2 GB). One without a token is answered 401, as its handler would.
func (s *Server) maxBody(h *fasthttp.RequestHeader) int {
	if !pictureUpload(h) || !s.credentialed(h) {
		return s.cfg.MaxBodyBytes
	}
	return max(s.cfg.MaxBodyBytes, 2*s.cfg.MaxAvatarBytes+multipartSlack)
}

// pictureUpload reports a multipart profile update.
func pictureUpload(h *fasthttp.RequestHeader) bool {
	uri := h.RequestURI()
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	const multipartType = "multipart/form-data"
	ct := h.ContentType()
	return string(uri) == "/user/v1/profile/" && len(ct) >= len(multipartType) && bytes.EqualFold(ct[:len(multipartType)], []byte(multipartType))
}

// credentialed reports headers with a valid access token of a user.
func (s *Server) credentialed(h *fasthttp.RequestHeader) bool {
	token, ok, err := bearerHeader(h)
	if !ok || err != nil {
		return false
	}
	_, err = s.userForToken(token)
	return err == nil
}

// bodyTimeout bounds reading a request's body, once its headers are in.
const bodyTimeout = 30 * time.Second

// handleParseError answers requests fasthttp could not read, in JSON. The
// connection is closed after the answer, lingering so that a client still
// sending the rest of its request can read it.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	defer s.observeRequest(ctx, time.Now())
	lingerOnClose(ctx.Conn())
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		if pictureUpload(&ctx.Request.Header) {
			if _, aerr := s.authenticate(ctx); aerr != nil {
				s.writeError(ctx, aerr) // 401 first, as the handler answers
				return
			}
		}
		s.writeError(ctx, errTooLarge)
		return
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		s.writeError(ctx, errHeadersTooLarge)
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		writeJSON(ctx, fasthttp.StatusRequestTimeout, errorBody{Detail: "Request timeout: the request did not arrive in time."})
		return
	}
	if errors.Is(err, errBareLF) {
		writeJSON(ctx, fasthttp.StatusBadRequest, errorBody{Detail: "Malformed request: header lines must end with CRLF."})
		return
	}
	writeJSON(ctx, fasthttp.StatusBadRequest, errorBody{Detail: "Malformed request."})
}
