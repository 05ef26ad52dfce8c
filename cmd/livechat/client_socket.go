package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// Socket timing. The client pings on its own schedule instead of relying on
// the server's keep-alive, whose interval is server configuration: a dead
// peer or half-open TCP connection is then noticed within readTimeout.
const (
	sockDialTimeout  = 10 * time.Second
	sockWriteTimeout = 10 * time.Second
	sockPingInterval = 25 * time.Second
	sockReadTimeout  = 2*sockPingInterval + 10*time.Second
	// sockCloseGrace is how long a clean exit waits for the server's close frame.
	sockCloseGrace = time.Second
	// sockStableAfter is how long a connection must have lived for the next drop
	// to be retried quickly again; a server that accepts and then drops at
	// once must not be hammered.
	sockStableAfter = 5 * time.Second
	// sockMaxFrame is far above the largest frame the protocol produces
	// (a 4096-character message with its metadata).
	sockMaxFrame = 1 << 20
	// sockFlushTimeout bounds how long leaving waits for typed messages to be
	// echoed, so that `echo hi | livechat client` delivers "hi" but a dead
	// server cannot hold the exit for long.
	sockFlushTimeout = 3 * time.Second
	// sockMaxPending bounds messages typed while disconnected.
	sockMaxPending = 256
	// sockMaxAttempts bounds resends of one message: a message the server keeps
	// refusing (with a chat.error, which names no message) must not be
	// resent on every reconnect forever.
	sockMaxAttempts = 3
)

// eventKind says what a socketEvent reports.
type eventKind int

const (
	evFrame        eventKind = iota // a frame from the server, de-duplicated
	evConnected                     // a connection opened; reconnect tells if not the first
	evDisconnected                  // a connection dropped or a dial failed; retryIn follows
	evDropped                       // a typed message was given up; text and err say which and why
)

// socketEvent is what roomSocket reports to its consumer.
type socketEvent struct {
	kind      eventKind
	frame     serverFrame
	raw       []byte
	reconnect bool
	err       error
	retryIn   time.Duration
	text      string
}

// serverFrame is the union of the frames the server sends; a key the client
// does not know is ignored, as the protocol asks.
type serverFrame struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Sender    string `json:"sender"`
	SenderID  int64  `json:"sender_id"`
	Nickname  string `json:"nickname"`
	Username  string `json:"username"`
	ErrorType string `json:"error_type"`
	ClientID  string `json:"client_id"`
	ID        int64  `json:"id"`
	Room      int64  `json:"room"`
	Seq       int64  `json:"seq"`
	CreatedAt string `json:"created_at"`
	EditedAt  string `json:"edited_at"`
	// chat.typing
	UserID    int64 `json:"user_id"`
	Typing    bool  `json:"typing"`
	TimeoutMS int64 `json:"timeout_ms"`
	// chat.read
	Reads []struct {
		UserID int64 `json:"user_id"`
		Seq    int64 `json:"seq"`
	} `json:"reads"`
}

// clientFrame is a chat.message as the client sends it.
type clientFrame struct {
	Type     string `json:"type"`
	Message  string `json:"message"`
	ClientID string `json:"client_id,omitempty"`
}

// signalFrame is an optional frame the client sends: chat.typing or
// chat.read. Neither is resent after a reconnect: they only say what is
// true now.
type signalFrame struct {
	Type   string `json:"type"`
	Typing *bool  `json:"typing,omitempty"`
	Seq    *int64 `json:"seq,omitempty"`
}

// pendingMessage is a typed message not yet seen echoed by the server. Its
// client_id stays the same across resends so that the server stores it once.
type pendingMessage struct {
	clientID string
	text     string
	attempts int
}

// roomSocket keeps one room's WebSocket open: it reconnects with backoff,
// asks for ?since=<highest seq seen> so nothing is lost, drops replayed
// duplicates, and resends typed messages whose echo never came.
//
// All its state is owned by the goroutine running run. The consumer reads
// events until the channel closes (then err is set), hands lines to outbox,
// and calls close to leave after the pending messages are delivered.
type roomSocket struct {
	api     *apiClient
	room    int64
	lastSeq int64  // -1: nothing seen and no since asked for
	optIn   string // the events= groups asked for; "" for none
	dialer  *websocket.Dialer
	backoff retryBackoff

	events   chan socketEvent
	outbox   chan string
	signals  chan signalFrame // chat.typing and chat.read, dropped while disconnected
	quit     chan struct{}
	quitOnce sync.Once
	quitting bool
	flushed  <-chan time.Time // fires flushTimeout after quitting starts
	pending  []*pendingMessage
	conns    int
	err      error
}

// newRoomSocket prepares a socket for room; since < 0 asks for no replay.
func newRoomSocket(api *apiClient, room, since int64) *roomSocket {
	return &roomSocket{
		api:     api,
		room:    room,
		lastSeq: since,
		dialer:  &websocket.Dialer{HandshakeTimeout: sockDialTimeout, Proxy: http.ProxyFromEnvironment},
		backoff: retryBackoff{min: 500 * time.Millisecond, max: 10 * time.Second},
		events:  make(chan socketEvent),
		outbox:  make(chan string),
		signals: make(chan signalFrame, 4),
		quit:    make(chan struct{}),
	}
}

// close asks run to deliver what is pending (briefly) and then close with
// 1000. It is safe to call more than once.
func (s *roomSocket) close() { s.quitOnce.Do(func() { close(s.quit) }) }

// run connects and reconnects until ctx ends, close completes, or an error
// that retrying cannot fix (a missing room, refused credentials).
func (s *roomSocket) run(ctx context.Context) {
	s.err = s.loop(ctx)
	for _, p := range s.pending {
		s.emit(ctx, socketEvent{kind: evDropped, text: p.text, err: errors.New("not delivered before exit")})
	}
	close(s.events)
}

func (s *roomSocket) loop(ctx context.Context) error {
	renewed := false
	for {
		conn, err := s.dial(ctx)
		switch status := apiStatus(err); {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case status == http.StatusUnauthorized && !renewed:
			// The access token expired during a long session: renew it once.
			renewed = true
			if err := s.api.renewAccess(ctx); err != nil && apiStatus(err) != 0 {
				return err
			}
			continue
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
			return fmt.Errorf("connect to room %d: %w", s.room, err)
		default:
			if !s.wait(ctx, err) {
				return nil
			}
			continue
		}
		renewed = false
		started := time.Now()
		err = s.serve(ctx, conn)
		if err == nil {
			return nil
		}
		if time.Since(started) >= sockStableAfter {
			s.backoff.reset()
		}
		if !s.wait(ctx, err) {
			return nil
		}
	}
}

// dial opens one connection. A refused handshake comes back as an apiError
// carrying the server's status and message.
func (s *roomSocket) dial(ctx context.Context) (*websocket.Conn, error) {
	u := socketURL(s.api.base, s.room, s.api.access, s.lastSeq, s.optIn)
	conn, resp, err := s.dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			raw, _ := io.ReadAll(resp.Body)
			return nil, &apiError{Status: resp.StatusCode, Msg: apiErrorText(resp.StatusCode, raw)}
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	conn.SetReadLimit(sockMaxFrame)
	return conn, nil
}

// socketURL derives the room's WebSocket URL from the server's base URL.
// since < 0 leaves out the replay parameter, and an empty optIn the
// events= one (a server that does not know it ignores it).
func socketURL(base *url.URL, room int64, token string, since int64, optIn string) string {
	u := *base
	u.Scheme = "ws"
	if base.Scheme == "https" {
		u.Scheme = "wss"
	}
	u.Path = strings.TrimRight(base.Path, "/") + "/ws/chat/" + strconv.FormatInt(room, 10) + "/chat/"
	u.RawPath = ""
	q := url.Values{}
	q.Set("token", token)
	if since >= 0 {
		q.Set("since", strconv.FormatInt(since, 10))
	}
	if optIn != "" {
		q.Set("events", optIn)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// wait reports the drop and sleeps the backoff, still accepting typed lines.
// It returns false when the socket should stop instead of reconnecting.
func (s *roomSocket) wait(ctx context.Context, cause error) bool {
	d := s.backoff.next()
	s.emit(ctx, socketEvent{kind: evDisconnected, err: cause, retryIn: d})
	if websocket.IsCloseError(cause, websocket.CloseMessageTooBig) {
		// The server refused a frame as too large; resending it would only
		// repeat the close.
		s.dropPending(ctx, errors.New("refused by the server as too large"))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		if s.quitting && len(s.pending) == 0 {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-s.quitRequest():
			s.startQuit()
		case <-s.flushed:
			return false
		case text := <-s.outbox:
			s.enqueue(ctx, text)
		case <-s.signals: // stale once connected again
		case <-t.C:
			return true
		}
	}
}

// quitRequest is the channel close signals on, until it has been seen.
func (s *roomSocket) quitRequest() <-chan struct{} {
	if s.quitting {
		return nil
	}
	return s.quit
}

// startQuit begins leaving: from now on the socket only tries, for at most
// sockFlushTimeout, to deliver what is pending, reconnecting if it must.
func (s *roomSocket) startQuit() {
	s.quitting = true
	s.flushed = time.After(sockFlushTimeout)
}

// serve runs one connection: it is the connection's only writer and hands
// what the reader goroutine gets to the consumer. It returns nil after a
// clean close and the cause when the connection broke.
func (s *roomSocket) serve(ctx context.Context, conn *websocket.Conn) error {
	frames := make(chan []byte)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go readSocket(conn, frames, readErr, done)

	s.conns++
	s.emit(ctx, socketEvent{kind: evConnected, reconnect: s.conns > 1})
	if err := s.resendPending(ctx, conn); err != nil {
		conn.Close()
		return err
	}
	ping := time.NewTicker(sockPingInterval)
	defer ping.Stop()
	renew := time.NewTimer(s.api.renewIn(time.Now()))
	defer renew.Stop()
	for {
		if s.quitting && len(s.pending) == 0 {
			return closeSocket(conn, frames, readErr)
		}
		select {
		case <-ctx.Done():
			return closeSocket(conn, frames, readErr)
		case <-s.quitRequest():
			s.startQuit()
		case <-s.flushed:
			return closeSocket(conn, frames, readErr)
		case raw := <-frames:
			s.onFrame(ctx, raw)
		case err := <-readErr:
			conn.Close()
			return err
		case text := <-s.outbox:
			if p := s.enqueue(ctx, text); p != nil {
				if err := sendChatFrame(conn, p); err != nil {
					conn.Close()
					return err
				}
			}
		case sig := <-s.signals:
			if err := sendSignal(conn, sig); err != nil {
				conn.Close()
				return err
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(sockWriteTimeout)); err != nil {
				conn.Close()
				return fmt.Errorf("ping: %w", err)
			}
		case <-renew.C:
			if err := s.renewOnSocket(ctx, conn); err != nil {
				conn.Close()
				return err
			}
			renew.Reset(s.api.renewIn(time.Now()))
		}
	}
}

// readSocket is the connection's only reader. Any frame, ping or pong
// proves the server alive and extends the read deadline.
func readSocket(conn *websocket.Conn, frames chan<- []byte, errc chan<- error, done <-chan struct{}) {
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(sockReadTimeout)) }
	conn.SetPongHandler(func(string) error { extend(); return nil })
	conn.SetPingHandler(func(data string) error {
		extend()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(sockWriteTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		extend()
		_, data, err := conn.ReadMessage()
		if err != nil {
			errc <- err
			return
		}
		select {
		case frames <- data:
		case <-done:
			return
		}
	}
}

// closeSocket sends close 1000 and waits briefly for the server's answer, so
// the server sees a clean leave rather than a dropped connection.
func closeSocket(conn *websocket.Conn, frames <-chan []byte, readErr <-chan error) error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(sockWriteTimeout))
	grace := time.NewTimer(sockCloseGrace)
	defer grace.Stop()
	for {
		select {
		case <-frames: // late frames are of no use once leaving
		case <-readErr:
			return conn.Close()
		case <-grace.C:
			return conn.Close()
		}
	}
}

// onFrame drops what a replay repeats and matches echoes to pending sends.
func (s *roomSocket) onFrame(ctx context.Context, raw []byte) {
	var f serverFrame
	if json.Unmarshal(raw, &f) != nil {
		f = serverFrame{} // still passed on: tail prints every frame
	}
	if f.Type == "chat.message" && f.Seq > 0 {
		if f.Seq <= s.lastSeq {
			return
		}
		s.lastSeq = f.Seq
		s.ack(f)
	}
	s.emit(ctx, socketEvent{kind: evFrame, frame: f, raw: raw})
}

// ack forgets the pending message that f echoes. The echo carries no
// client_id in the original protocol, so sender and text identify it then;
// the sender is the user's email, or "user-<id>" while the user hides it.
func (s *roomSocket) ack(f serverFrame) {
	hidden := "user-" + strconv.FormatInt(s.api.user.ID, 10)
	for i, p := range s.pending {
		mine := f.ClientID != "" && f.ClientID == p.clientID
		if f.ClientID == "" {
			mine = (strings.EqualFold(f.Sender, s.api.user.Email) || f.Sender == hidden) && f.Message == p.text
		}
		if mine {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// enqueue records a typed line as pending and returns it, or nil when it was
// refused because too much is waiting already.
func (s *roomSocket) enqueue(ctx context.Context, text string) *pendingMessage {
	if len(s.pending) >= sockMaxPending {
		s.emit(ctx, socketEvent{kind: evDropped, text: text, err: errors.New("too many messages waiting for the connection")})
		return nil
	}
	p := &pendingMessage{clientID: newClientID(), text: text}
	s.pending = append(s.pending, p)
	return p
}

// resendPending sends, on a fresh connection, what was typed while
// disconnected or sent without an echo; the server de-duplicates by client_id.
func (s *roomSocket) resendPending(ctx context.Context, conn *websocket.Conn) error {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.attempts >= sockMaxAttempts {
			s.emit(ctx, socketEvent{kind: evDropped, text: p.text, err: errors.New("no echo after several attempts")})
			continue
		}
		kept = append(kept, p)
	}
	s.pending = kept
	for _, p := range s.pending {
		if err := sendChatFrame(conn, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *roomSocket) dropPending(ctx context.Context, cause error) {
	for _, p := range s.pending {
		s.emit(ctx, socketEvent{kind: evDropped, text: p.text, err: cause})
	}
	s.pending = nil
}

func sendChatFrame(conn *websocket.Conn, p *pendingMessage) error {
	p.attempts++
	b, err := json.Marshal(clientFrame{Type: "chat.message", Message: p.text, ClientID: p.clientID})
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(sockWriteTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func sendSignal(conn *websocket.Conn, sig signalFrame) error {
	b, err := json.Marshal(sig)
	if err != nil {
		return fmt.Errorf("encode %s: %w", sig.Type, err)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(sockWriteTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// signal queues a chat.typing or chat.read without waiting: when the
// connection is behind, the signal is dropped (the next one says the same
// or more).
func (s *roomSocket) signal(sig signalFrame) {
	select {
	case s.signals <- sig:
	default:
	}
}

// emit hands an event to the consumer unless the client is shutting down.
func (s *roomSocket) emit(ctx context.Context, ev socketEvent) {
	select {
	case s.events <- ev:
	case <-ctx.Done():
	}
}

// newClientID returns a random id for the protocol's client_id: 32 hex
// characters, within its 64-character limit and unguessable by others.
func newClientID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// retryBackoff spaces reconnect attempts: doubling from min to max, with jitter
// so that many clients dropped by one server restart do not return at once.
type retryBackoff struct {
	min, max time.Duration
	n        int
}

func (b *retryBackoff) next() time.Duration {
	d := b.max
	if b.n < 30 && b.min<<b.n < b.max {
		d = b.min << b.n
	}
	b.n++
	jitter := time.Duration(mrand.Int64N(int64(d)/5 + 1))
	return d - d/10 + jitter
}

func (b *retryBackoff) reset() { b.n = 0 }
