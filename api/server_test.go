package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livechat/actors"
	"livechat/persistence"
)

// testSecret signs every token of the test servers, so that tests can forge
// tokens of their own (wrong algorithm, expired, tampered).
var testSecret = []byte("livechat-test-secret-0123456789abcdef")

// testPassword passes every password validator.
const testPassword = "correct-horse-battery"

// testServer is a real server: Badger store, writer, actor engine and the
// fasthttp front end on a 127.0.0.1:0 listener.
type testServer struct {
	srv    *Server
	store  *persistence.Store
	writer *persistence.Writer
	engine *actors.Engine
	addr   string // 127.0.0.1:port
	url    string // http://127.0.0.1:port
	client *http.Client

	closeOnce sync.Once
	served    chan error
}

// newTestServer starts a server on an in-memory store. opts adjust the
// api.Config after the test defaults (Secret, BcryptCost 4, and every
// rate high enough never to throttle).
func newTestServer(t testing.TB, opts ...func(*Config)) *testServer {
	t.Helper()
	return startTestServerOn(t, persistence.Config{InMemory: true}, opts...)
}

// startTestServerOn starts a server on the store described by scfg (a
// t.TempDir() for restart tests). The server stops when the test ends, or
// earlier with close.
func startTestServerOn(t testing.TB, scfg persistence.Config, opts ...func(*Config)) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg.Logger = log
	store, err := persistence.Open(scfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	writer := store.NewWriter(persistence.WriterConfig{})
	engine, err := actors.NewEngine(actors.Config{Store: store, Writer: writer, Logger: log})
	if err != nil {
		writer.Close()
		_ = store.Close()
		t.Fatalf("start engine: %v", err)
	}
	cfg := Config{Secret: testSecret, BcryptCost: 4, Logger: log,
		LoginRate: 1_000_000, RegisterRate: 1_000_000, RoomRate: 1_000_000, MessageRate: 1_000_000, MessageBurst: 1_000_000}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg, store, engine)
	if err != nil {
		engine.Shutdown()
		writer.Close()
		_ = store.Close()
		t.Fatalf("api.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts := &testServer{
		srv: srv, store: store, writer: writer, engine: engine,
		addr: ln.Addr().String(), url: "http://" + ln.Addr().String(),
		served: make(chan error, 1),
	}
	ts.client = &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	go func() { ts.served <- srv.Serve(ln) }()
	t.Cleanup(func() { ts.close(t) })
	return ts
}

// close shuts down in serve.go's order: front end, actors, writer, store.
// It is idempotent.
func (ts *testServer) close(t testing.TB) {
	t.Helper()
	ts.closeOnce.Do(func() {
		ts.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		select {
		case err := <-ts.served:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-ctx.Done():
			t.Errorf("Serve did not return after Shutdown")
		}
		ts.engine.Shutdown()
		ts.writer.Close()
		if err := ts.store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
}

// response is a read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	raw    *http.Response
}

// object decodes the body as a JSON object.
func (r *response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v: %q", r.Status, err, r.Body)
	}
	return m
}

// decode decodes the body into v.
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d: decode %T: %v: %q", r.Status, v, err, r.Body)
	}
}

// req describes one request. Body is sent raw when it is a string, a
// []byte or an io.Reader (chunked), JSON-encoded otherwise, and not at all
// when nil.
type req struct {
	Method, Path string
	Body         any
	Token        string
	Header       map[string]string
	Host         string
}

// do sends r and reads the whole response. Every response of the API must
// be JSON (the embedded web page aside), so do checks that too.
func (ts *testServer) do(t testing.TB, r req) *response {
	t.Helper()
	res, err := ts.send(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	return res
}

// send is do without the testing.TB, for goroutines.
func (ts *testServer) send(r req) (*response, error) {
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader: // of unknown length: sent chunked
		body = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(enc)
	}
	hr, err := http.NewRequest(r.Method, ts.url+r.Path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	if r.Host != "" {
		hr.Host = r.Host
	}
	hres, err := ts.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer hres.Body.Close()
	b, err := io.ReadAll(hres.Body)
	if err != nil {
		return nil, err
	}
	res := &response{Status: hres.StatusCode, Header: hres.Header, Body: b, raw: hres}
	if err := checkJSONResponse(r, res); err != nil {
		return res, err
	}
	return res, nil
}

// checkJSONResponse is the contract every answer of the API keeps: JSON
// with its content type, never a 500, never a panic's text.
func checkJSONResponse(r req, res *response) error {
	where := fmt.Sprintf("%s %s: status %d", r.Method, r.Path, res.Status)
	if res.Status >= 500 {
		return fmt.Errorf("%s: server error: %q", where, res.Body)
	}
	if (r.Method == http.MethodOptions || res.Status == http.StatusNoContent) && len(res.Body) == 0 {
		return nil
	}
	if res.Status == http.StatusNoContent {
		if len(res.Body) != 0 {
			return fmt.Errorf("%s: a 204 with a body: %q", where, res.Body)
		}
		return nil
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%s: Content-Type %q, want application/json: %q", where, ct, res.Body)
	}
	if r.Method != http.MethodHead && !json.Valid(res.Body) {
		return fmt.Errorf("%s: body is not JSON: %q", where, res.Body)
	}
	if bytes.Contains(res.Body, []byte("goroutine ")) || bytes.Contains(res.Body, []byte("panic")) {
		return fmt.Errorf("%s: body leaks a panic: %q", where, res.Body)
	}
	return nil
}

// expectStatus fails the test unless r has status want.
func expectStatus(t testing.TB, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %s", r.Status, want, r.Body)
	}
}

// expectBody fails unless r has status and exactly the JSON body want
// (compared as values, so key order does not matter).
func expectBody(t testing.TB, r *response, status int, want string) {
	t.Helper()
	expectStatus(t, r, status)
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body is not JSON: %q", r.Body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("body %s, want %s", r.Body, want)
	}
}

// expectFieldError fails unless r is a 400 whose field lists msg (or, with
// msg empty, lists anything).
func expectFieldError(t testing.TB, r *response, field, msg string) {
	t.Helper()
	expectStatus(t, r, http.StatusBadRequest)
	var fields map[string][]string
	if err := json.Unmarshal(r.Body, &fields); err != nil {
		t.Fatalf("400 body is not field → messages: %q", r.Body)
	}
	got, ok := fields[field]
	if !ok || len(got) == 0 {
		t.Fatalf("no error for %q in %s", field, r.Body)
	}
	if msg == "" {
		return
	}
	for _, m := range got {
		if m == msg {
			return
		}
	}
	t.Fatalf("errors for %q are %q, want %q", field, got, msg)
}

// expectTokenInvalid fails unless r is SimpleJWT's 401 for a bad token.
func expectTokenInvalid(t testing.TB, r *response) {
	t.Helper()
	expectStatus(t, r, http.StatusUnauthorized)
	if code := r.object(t)["code"]; code != "token_not_valid" {
		t.Fatalf("code %v, want token_not_valid: %s", code, r.Body)
	}
}

// testUser is a registered, logged-in account.
type testUser struct {
	ID               int64
	Email, Nickname  string
	Access, Refresh  string
	DateJoined       string
	ProfilePicture   any
	registerResponse map[string]any
}

var userCounter atomic.Int64

// uniqueEmail returns an email no other test uses.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s%d@example.com", prefix, userCounter.Add(1))
}

// registerBody is a valid registration.
func registerBody(email, nickname string) map[string]any {
	return map[string]any{"email": email, "password1": testPassword, "password2": testPassword, "nickname": nickname}
}

// register creates an account and checks the 201.
func (ts *testServer) register(t testing.TB, email, nickname string) map[string]any {
	t.Helper()
	r := ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(email, nickname)})
	expectStatus(t, r, http.StatusCreated)
	return r.object(t)
}

// login logs in and returns the access and refresh tokens.
func (ts *testServer) login(t testing.TB, email, password string) (access, refresh string) {
	t.Helper()
	r := ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: map[string]string{"email": email, "password": password}})
	expectStatus(t, r, http.StatusOK)
	var out struct{ Access, Refresh string }
	r.decode(t, &out)
	if out.Access == "" || out.Refresh == "" {
		t.Fatalf("login without tokens: %s", r.Body)
	}
	return out.Access, out.Refresh
}

// newUser registers and logs in a fresh account.
func (ts *testServer) newUser(t testing.TB) *testUser {
	t.Helper()
	email := uniqueEmail("user")
	nick := "nick" + strings.TrimSuffix(strings.TrimPrefix(email, "user"), "@example.com")
	reg := ts.register(t, email, nick)
	u := &testUser{ID: int64(reg["id"].(float64)), Email: email, Nickname: nick, registerResponse: reg}
	u.Access, u.Refresh = ts.login(t, email, testPassword)
	return u
}

// roomJSON is a room as the API returns it.
type roomJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Post      *int64 `json:"post"`
	Owner     int64  `json:"owner"`
	ChatURL   string `json:"chat_url"`
	CreatedAt string `json:"created_at"`
}

// messageJSON is a message as the REST API returns it.
type messageJSON struct {
	ID        int64  `json:"id"`
	Room      int64  `json:"room"`
	Seq       int64  `json:"seq"`
	Sender    string `json:"sender"`
	Nickname  string `json:"nickname"`
	Message   string `json:"message"`
	CreatedAt string `json:"created_at"`
}

// createRoom creates a room (post 0: none) and checks the 201.
func (ts *testServer) createRoom(t testing.TB, u *testUser, name string, post int64) roomJSON {
	t.Helper()
	body := map[string]any{"name": name}
	if post != 0 {
		body["post"] = post
	}
	r := ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Body: body, Token: u.Access})
	expectStatus(t, r, http.StatusCreated)
	var room roomJSON
	r.decode(t, &room)
	return room
}

// postMessage posts text to room and checks the 201.
func (ts *testServer) postMessage(t testing.TB, u *testUser, room int64, text string) messageJSON {
	t.Helper()
	r := ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Body: map[string]any{"room": room, "message": text}, Token: u.Access})
	expectStatus(t, r, http.StatusCreated)
	var m messageJSON
	r.decode(t, &m)
	return m
}

// postConcurrently posts n messages "<prefix>-<i>" to room from workers
// goroutines and returns the 201 answers, in no particular order.
func (ts *testServer) postConcurrently(t testing.TB, u *testUser, room int64, n, workers int, prefix string) []messageJSON {
	t.Helper()
	var (
		mu   sync.Mutex
		out  []messageJSON
		errs []error
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				r, err := ts.send(req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access,
					Body: map[string]any{"room": room, "message": fmt.Sprintf("%s-%d", prefix, i)}})
				var m messageJSON
				if err == nil && r.Status != http.StatusCreated {
					err = fmt.Errorf("status %d: %s", r.Status, r.Body)
				}
				if err == nil {
					err = json.Unmarshal(r.Body, &m)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					out = append(out, m)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("post: %v", err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return out
}

// history fetches GET /chat/v1/room/{id}/messages/ with query.
func (ts *testServer) history(t testing.TB, u *testUser, room int64, query string) []messageJSON {
	t.Helper()
	r := ts.do(t, req{Method: "GET", Path: fmt.Sprintf("/chat/v1/room/%d/messages/%s", room, query), Token: u.Access})
	expectStatus(t, r, http.StatusOK)
	var msgs []messageJSON
	r.decode(t, &msgs)
	if msgs == nil {
		t.Fatalf("history is not an array: %s", r.Body)
	}
	return msgs
}

// allHistory pages back through a room's whole history with before=,
// the way PROTOCOL.md tells clients to, and returns it oldest first.
func (ts *testServer) allHistory(t testing.TB, u *testUser, room int64) []messageJSON {
	t.Helper()
	var all []messageJSON
	query := "?limit=200"
	for {
		page := ts.history(t, u, room, query)
		if len(page) == 0 {
			return all
		}
		all = append(page, all...)
		query = fmt.Sprintf("?limit=200&before=%d", page[0].Seq)
	}
}

// jwtClaims decodes a token's payload without verifying it.
func jwtClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts: %q", len(parts), token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var c map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	return c
}

func TestServerStartsAndStops(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(t, req{Method: "GET", Path: "/healthz"})
	expectBody(t, r, http.StatusOK, `{"connections":0,"slow_consumers":0,"status":"ok"}`)
	ts.close(t)
	if _, err := ts.send(req{Method: "GET", Path: "/healthz"}); err == nil {
		t.Fatal("server still answers after close")
	}
}

// TestShutdownBeforeServeStops checks that a Shutdown that comes before
// Serve has handed its listener to fasthttp still stops it: Serve returns
// and the address no longer accepts.
func TestShutdownBeforeServeStops(t *testing.T) {
	ts := newTestServer(t)
	ts.close(t) // Serve may not have started yet; either way it must end
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ts.srv.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		_ = ln.Close()
		t.Fatal("Serve after Shutdown did not return")
	}
}
