package api

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forge signs a token with arbitrary claims.
func forge(t testing.TB, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// simpleJWTClaims are the claims SimpleJWT writes for an access token.
func simpleJWTClaims(user any, kind string, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"token_type": kind, "exp": exp.Unix(), "iat": time.Now().Unix(), "jti": "0123456789abcdef0123456789abcdef", "user_id": user}
}

func TestTokenClaims(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	for _, tc := range []struct {
		token, kind string
		ttl         int64
	}{{u.Access, "access", 3600}, {u.Refresh, "refresh", 86400}} {
		parts := strings.Split(tc.token, ".")
		head, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h map[string]any
		if err := json.Unmarshal(head, &h); err != nil || h["alg"] != "HS256" {
			t.Errorf("%s header %s, want alg HS256", tc.kind, head)
		}
		c := jwtClaims(t, tc.token)
		for _, k := range []string{"token_type", "exp", "iat", "jti", "user_id"} {
			if _, ok := c[k]; !ok {
				t.Errorf("%s token lacks %q: %v", tc.kind, k, c)
			}
		}
		if c["token_type"] != tc.kind || c["user_id"] != json.Number(strconv.FormatInt(u.ID, 10)) {
			t.Errorf("%s claims %v: want token_type %q and integer user_id %d", tc.kind, c, tc.kind, u.ID)
		}
		exp, _ := c["exp"].(json.Number).Int64()
		iat, _ := c["iat"].(json.Number).Int64()
		if exp-iat != tc.ttl || time.Since(time.Unix(iat, 0)) > time.Minute {
			t.Errorf("%s: iat %d exp %d, want a lifetime of %ds from now", tc.kind, iat, exp, tc.ttl)
		}
		if jti, _ := c["jti"].(string); jti == "" {
			t.Errorf("%s: empty jti", tc.kind)
		}
	}
	if jwtClaims(t, u.Access)["jti"] == jwtClaims(t, u.Refresh)["jti"] {
		t.Errorf("access and refresh share a jti")
	}
}

func TestTokensRejected(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	valid := simpleJWTClaims(u.ID, "access", time.Now().Add(time.Hour))
	parts := strings.Split(u.Access, ".")
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"token_type":"access","exp":%d,"iat":%d,"jti":"x","user_id":%d}`,
		time.Now().Add(time.Hour).Unix(), time.Now().Unix(), u.ID+1)))
	flipped := []byte(parts[2])
	flipped[3] ^= 1
	noExp := simpleJWTClaims(u.ID, "access", time.Now())
	delete(noExp, "exp")
	noJTI := simpleJWTClaims(u.ID, "access", time.Now().Add(time.Hour))
	delete(noJTI, "jti")
	stringExp := simpleJWTClaims(u.ID, "access", time.Now())
	stringExp["exp"] = strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)

	for name, token := range map[string]string{
		"alg none":          forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"HS512":             forge(t, jwt.SigningMethodHS512, testSecret, valid),
		"HS384":             forge(t, jwt.SigningMethodHS384, testSecret, valid),
		"RS256":             forge(t, jwt.SigningMethodRS256, rsaKey, valid),
		"other secret":      forge(t, jwt.SigningMethodHS256, []byte("not the server's secret"), valid),
		"tampered payload":  parts[0] + "." + otherPayload + "." + parts[2],
		"tampered sig":      parts[0] + "." + parts[1] + "." + string(flipped),
		"no signature":      parts[0] + "." + parts[1] + ".",
		"expired":           forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(u.ID, "access", time.Now().Add(-time.Minute))),
		"no exp":            forge(t, jwt.SigningMethodHS256, testSecret, noExp),
		"exp as a string":   forge(t, jwt.SigningMethodHS256, testSecret, stringExp),
		"no jti":            forge(t, jwt.SigningMethodHS256, testSecret, noJTI),
		"refresh as access": u.Refresh,
		"unknown type":      forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(u.ID, "sliding", time.Now().Add(time.Hour))),
		"no user":           forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(nil, "access", time.Now().Add(time.Hour))),
		"user 0":            forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(0, "access", time.Now().Add(time.Hour))),
		"user not a number": forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims("abc", "access", time.Now().Add(time.Hour))),
		"garbage":           "not.a.jwt",
		"two parts":         parts[0] + "." + parts[1],
		"empty":             "",
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/user/v1/profile/", "/chat/v1/room/"} {
				hdr := map[string]string{"Authorization": "Bearer " + token}
				r := ts.do(t, req{Method: "GET", Path: path, Header: hdr})
				expectStatus(t, r, http.StatusUnauthorized)
				if token != "" {
					expectTokenInvalid(t, r)
				}
			}
		})
	}

	// Authorization headers as SimpleJWT reads them: another scheme is no
	// credentials at all; a Bearer header must have exactly one token.
	for hdr, want := range map[string]string{
		"Token " + u.Access:   `{"detail":"Authentication credentials were not provided."}`,
		"Basic dTpw":          `{"detail":"Authentication credentials were not provided."}`,
		"Bearer":              `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`,
		"Bearer a b":          `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`,
		"Bearer  " + u.Access: "",
	} {
		r := ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Header: map[string]string{"Authorization": hdr}})
		if want == "" {
			expectStatus(t, r, http.StatusOK)
			continue
		}
		expectBody(t, r, http.StatusUnauthorized, want)
		if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="api"` {
			t.Errorf("%q: WWW-Authenticate %q", hdr, got)
		}
	}

	// A valid token of an account that does not exist: SimpleJWT's
	// user_not_found, without the bad-token "messages". Its refresh token
	// gets no new access token.
	ghost := forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(987654, "access", time.Now().Add(time.Hour)))
	expectBody(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: ghost}), http.StatusUnauthorized,
		`{"detail":"User not found","code":"user_not_found"}`)
	ghostRefresh := forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(987654, "refresh", time.Now().Add(time.Hour)))
	expectBody(t, ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": ghostRefresh}}),
		http.StatusUnauthorized, `{"detail":"No active account found for the given token.","code":"no_active_account"}`)

	// A SimpleJWT access token signed with the shared secret is accepted,
	// with user_id as a number or (newer SimpleJWT) a string.
	for _, id := range []any{u.ID, strconv.FormatInt(u.ID, 10)} {
		tok := forge(t, jwt.SigningMethodHS256, testSecret, simpleJWTClaims(id, "access", time.Now().Add(time.Hour)))
		r := ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: tok})
		expectStatus(t, r, http.StatusOK)
		if r.object(t)["email"] != u.Email {
			t.Errorf("SimpleJWT token for %v authenticated as %s", id, r.Body)
		}
	}
}

func TestMissingCredentials(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const want = `{"detail":"Authentication credentials were not provided."}`
	for _, ep := range []struct{ method, path string }{
		{"GET", "/user/v1/profile/"}, {"PATCH", "/user/v1/profile/"},
		{"GET", "/chat/v1/room/"}, {"POST", "/chat/v1/room/"},
		{"GET", "/chat/v1/room/1/"}, {"GET", "/chat/v1/room/1/messages/"},
		{"POST", "/chat/v1/message/"},
	} {
		r := ts.do(t, req{Method: ep.method, Path: ep.path, Body: "{}"})
		expectBody(t, r, http.StatusUnauthorized, want)
	}
	// A header with another scheme or no token is still a 401.
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc"} {
		r := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Header: map[string]string{"Authorization": h}})
		expectStatus(t, r, http.StatusUnauthorized)
	}
}

func TestTrailingSlash(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	for _, tc := range []struct{ path, location string }{
		{"/chat/v1/room", "/chat/v1/room/"},
		{"/chat/v1/room?after=1&limit=2", "/chat/v1/room/?after=1&limit=2"},
		{"/user/v1/profile", "/user/v1/profile/"},
		{"/chat/v1/room/1", "/chat/v1/room/1/"},
		{"/chat/v1/room/1/messages", "/chat/v1/room/1/messages/"},
		{"/user/v1/register", "/user/v1/register/"},
	} {
		r := ts.do(t, req{Method: "GET", Path: tc.path, Token: u.Access})
		if r.Status != http.StatusMovedPermanently {
			t.Errorf("GET %s: status %d, want 301: %s", tc.path, r.Status, r.Body)
		}
		if loc := r.Header.Get("Location"); loc != tc.location {
			t.Errorf("GET %s: Location %q, want %q", tc.path, loc, tc.location)
		}
	}
	for _, p := range []string{"/user/v1/register", "/user/v1/login", "/chat/v1/room", "/chat/v1/message"} {
		expectBody(t, ts.do(t, req{Method: "POST", Path: p, Body: "{}", Token: u.Access}), http.StatusNotFound, `{"detail":"Not found."}`)
	}
	for _, p := range []string{"/nope/", "/nope", "/user/v1/", "/chat/v1/room/1/other/", "/chat/v1/room/abc", "/static/nope.js"} {
		expectBody(t, ts.do(t, req{Method: "GET", Path: p, Token: u.Access}), http.StatusNotFound, `{"detail":"Not found."}`)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "m", 0)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/user/v1/register/"}, {"PUT", "/user/v1/register/"},
		{"GET", "/user/v1/login/"}, {"DELETE", "/user/v1/login/"},
		{"GET", "/user/v1/token/refresh/"}, {"GET", "/user/v1/logout/"},
		{"POST", "/user/v1/profile/"}, {"DELETE", "/user/v1/profile/"},
		{"DELETE", "/chat/v1/room/"}, {"PUT", "/chat/v1/room/"},
		{"POST", fmt.Sprintf("/chat/v1/room/%d/", room.ID)}, {"DELETE", fmt.Sprintf("/chat/v1/room/%d/", room.ID)},
		{"POST", fmt.Sprintf("/chat/v1/room/%d/messages/", room.ID)},
		{"GET", "/chat/v1/message/"}, {"PATCH", "/chat/v1/message/"},
		{"POST", "/"}, {"PUT", "/static/app.js"}, {"POST", "/ws/chat/1/chat/"},
		{"POST", "/healthz"}, {"DELETE", "/healthz"}, {"PUT", "/readyz"}, {"POST", "/openapi.json"},
	} {
		r := ts.do(t, req{Method: tc.method, Path: tc.path, Token: u.Access, Body: "{}"})
		expectBody(t, r, http.StatusMethodNotAllowed, fmt.Sprintf(`{"detail":"Method \"%s\" not allowed."}`, tc.method))
		if r.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
	// Without credentials an endpoint that needs them answers 401 whatever
	// the method, as DRF authenticates first; open endpoints still say 405.
	expectBody(t, ts.do(t, req{Method: "DELETE", Path: "/chat/v1/room/"}), http.StatusUnauthorized,
		`{"detail":"Authentication credentials were not provided."}`)
	expectStatus(t, ts.do(t, req{Method: "PUT", Path: fmt.Sprintf("/chat/v1/room/%d/", room.ID)}), http.StatusUnauthorized)
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/user/v1/register/"}), http.StatusMethodNotAllowed)
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "big", 0)
	big := fmt.Sprintf(`{"room":%d,"message":"%s"}`, room.ID, strings.Repeat("a", 70<<10))
	r := ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: big})
	expectStatus(t, r, http.StatusRequestEntityTooLarge)
	if d, _ := r.object(t)["detail"].(string); d == "" {
		t.Errorf("413 without detail: %s", r.Body)
	}
	expectStatus(t, ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: big}), http.StatusRequestEntityTooLarge)
	chunked := io.MultiReader(strings.NewReader(big))
	expectStatus(t, ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: chunked}), http.StatusRequestEntityTooLarge)
	// A small chunked body is fine.
	fine := io.MultiReader(strings.NewReader(fmt.Sprintf(`{"room":%d,"message":"chunked"}`, room.ID)))
	expectStatus(t, ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: fine}), http.StatusCreated)
	// The server is fine afterwards.
	ts.postMessage(t, u, room.ID, "small")

	small := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 100 })
	expectStatus(t, small.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: strings.Repeat(" ", 101) + "{}"}), http.StatusRequestEntityTooLarge)
}

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	for _, body := range []string{"not json", "{", `{"email":}`, "{}{}", `{"a":1}x`, "<html></html>", "email=a@b.c&password=x", "\xff\xfe", "{\"email\":\"a\xffb@x.io\",\"password\":\"x\"}"} {
		for _, path := range []string{"/user/v1/register/", "/user/v1/login/", "/chat/v1/room/", "/chat/v1/message/"} {
			r := ts.do(t, req{Method: "POST", Path: path, Body: body, Token: u.Access})
			expectStatus(t, r, http.StatusBadRequest)
		}
	}
	// A JSON value that is not an object is a non-field error, as in DRF.
	for _, body := range []string{"[]", "123", `"str"`, "null", "true"} {
		r := ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: body})
		expectFieldError(t, r, "non_field_errors", "")
	}
}

func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, host := range []string{"evil.example.com", "evil.example.com:80", "localhost.evil.com", "127.0.0.2", "[::2]:80"} {
		r := ts.do(t, req{Method: "GET", Path: "/healthz", Host: host})
		expectBody(t, r, http.StatusBadRequest, `{"detail":"Invalid HTTP_HOST header: '`+host+`'. Add it to --allowed-hosts (ALLOWED_HOSTS)."}`)
		r = ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Host: host, Body: "{}"})
		expectStatus(t, r, http.StatusBadRequest)
	}
	for _, host := range []string{"localhost", "LOCALHOST:8000", "127.0.0.1", ts.addr, "[::1]:8000"} {
		expectStatus(t, ts.do(t, req{Method: "GET", Path: "/healthz", Host: host}), http.StatusOK)
	}

	any := newTestServer(t, func(c *Config) { c.AllowedHosts = []string{"*"} })
	expectStatus(t, any.do(t, req{Method: "GET", Path: "/healthz", Host: "anything.example.org"}), http.StatusOK)

	domain := newTestServer(t, func(c *Config) { c.AllowedHosts = []string{".example.com"} })
	for host, want := range map[string]int{"example.com": 200, "chat.example.com:443": 200, "a.b.example.com": 200, "badexample.com": 400, "localhost": 400} {
		expectStatus(t, domain.do(t, req{Method: "GET", Path: "/healthz", Host: host}), want)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	preflight := func(ts *testServer, origin string) *response {
		return ts.do(t, req{Method: "OPTIONS", Path: "/chat/v1/room/", Header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}})
	}
	r := preflight(ts, "https://app.example.org")
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("preflight status %d", r.Status)
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.org" && got != "*" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	if m := r.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
		t.Errorf("Access-Control-Allow-Methods %q lacks POST", m)
	}
	if h := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "authorization") || !strings.Contains(h, "content-type") {
		t.Errorf("Access-Control-Allow-Headers %q", h)
	}
	// The actual request carries the header too.
	r = ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: u.Access, Header: map[string]string{"Origin": "https://app.example.org"}})
	expectStatus(t, r, http.StatusOK)
	if r.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("GET with Origin: no Access-Control-Allow-Origin")
	}

	strict := newTestServer(t, func(c *Config) { c.CORSOrigins = []string{"https://good.example"} })
	if got := preflight(strict, "https://good.example").Header.Get("Access-Control-Allow-Origin"); got != "https://good.example" {
		t.Errorf("allowed origin got %q", got)
	}
	if got := preflight(strict, "https://evil.example").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("origin not configured got Access-Control-Allow-Origin %q", got)
	}
}

// garbageBodies are bodies no client should send.
var garbageBodies = []string{
	"", " ", "[]", "[1,2,3]", `[{"email":"a@b.c"}]`, "0", "-1", "1e999", "123456789012345678901234567890", `"string"`, "null", "true", "false",
	"{}", `{"":""}`, `{"a":{"b":{"c":{"d":[1,{"e":null}]}}}}`, strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	`{"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
	"\xff\xfe\xfd", "{\"message\":\"\xff\xfe\",\"room\":1}", `{"message":"\ud800","room":1}`, "{\"name\":\"\x00\"}",
	`{"email":"a@b.c","email":"c@d.e"}`, `{"room":1,"room":"x"}`, "\x00\x01\x02", "{\"a\":1", `{"a":1}}`,
}

// garbageValues are put in every field of every endpoint in turn.
var garbageValues = []string{
	"null", "true", "false", "0", "-1", "1.5", "1e30", "-1e30", "1e400", "123456789012345678901234567890", "9223372036854775808", "-9223372036854775809",
	`""`, `" "`, `"\u0000"`, `"\ud83d"`, "\"\xff\"", `"` + strings.Repeat("x", 5000) + `"`, `"0x10"`, `"1e3"`, `"-0"`, `"+1"`,
	"[]", `[1,"a",null]`, "{}", `{"a":{"b":[]}}`,
}

// TestGarbageNeverBreaksTheServer throws garbage at every endpoint: every
// answer is a 4xx (or 2xx) with a JSON body, never a 500 or a panic.
func TestGarbageNeverBreaksTheServer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "garbage", 0)
	endpoints := []struct {
		method, path string
		fields       []string
	}{
		{"POST", "/user/v1/register/", []string{"email", "password1", "password2", "nickname"}},
		{"POST", "/user/v1/login/", []string{"email", "password"}},
		{"POST", "/user/v1/token/refresh/", []string{"refresh"}},
		{"POST", "/user/v1/logout/", []string{"refresh"}},
		{"PATCH", "/user/v1/profile/", []string{"nickname", "profile_picture"}},
		{"POST", "/chat/v1/room/", []string{"name", "post"}},
		{"POST", "/chat/v1/message/", []string{"room", "message", "client_id"}},
		{"GET", "/chat/v1/room/", nil},
		{"GET", fmt.Sprintf("/chat/v1/room/%d/", room.ID), nil},
		{"GET", fmt.Sprintf("/chat/v1/room/%d/messages/", room.ID), nil},
	}
	valid := map[string]string{
		"email": `"g@example.com"`, "password1": `"` + testPassword + `"`, "password2": `"` + testPassword + `"`, "password": `"x"`,
		"nickname": `"g"`, "refresh": `"` + u.Refresh + `"`, "name": `"n"`, "post": "5", "room": strconv.FormatInt(room.ID, 10), "message": `"m"`,
		"client_id": `"c"`, "profile_picture": "null",
	}
	for _, ep := range endpoints {
		var bodies []string
		if ep.method != "GET" {
			bodies = append(bodies, garbageBodies...)
		}
		// Every field set to every garbage value, the others valid; then
		// all fields set to the same value (password1 == password2).
		for _, v := range garbageValues {
			if len(ep.fields) == 0 {
				break
			}
			parts := []string{}
			for _, f := range ep.fields {
				parts = append(parts, strconv.Quote(f)+":"+v)
			}
			bodies = append(bodies, "{"+strings.Join(parts, ",")+"}")
		}
		for _, field := range ep.fields {
			for _, v := range garbageValues {
				parts := []string{}
				for _, f := range ep.fields {
					val := valid[f]
					if f == field {
						val = v
					}
					parts = append(parts, strconv.Quote(f)+":"+val)
				}
				bodies = append(bodies, "{"+strings.Join(parts, ",")+"}")
			}
		}
		for _, body := range bodies {
			// send checks the contract: status < 500, a JSON body, no panic text.
			if _, err := ts.send(req{Method: ep.method, Path: ep.path, Body: body, Token: u.Access}); err != nil {
				t.Fatalf("%s %s %.80q: %v", ep.method, ep.path, body, err)
			}
		}
	}
	// Query strings get the same treatment.
	for _, q := range []string{"?after=%00", "?limit=1e999", "?before=%ff%fe", "?limit=", "?after=-0", "?before=9223372036854775807",
		"?before=9223372036854775808", "?limit=9223372036854775807", "?after=9223372036854775807", "?" + strings.Repeat("a=1&", 1000)} {
		for _, path := range []string{"/chat/v1/room/", fmt.Sprintf("/chat/v1/room/%d/messages/", room.ID), fmt.Sprintf("/chat/v1/room/%d/", room.ID)} {
			if _, err := ts.send(req{Method: "GET", Path: path + q, Token: u.Access}); err != nil {
				t.Fatalf("GET %s%.60s: %v", path, q, err)
			}
		}
	}
	// Odd paths.
	for _, p := range []string{"/chat/v1/room/%00/", "/chat/v1/room/%ff/", "/chat/v1/room/1%2f/", "/chat/v1/room/ 1/", "/chat/v1/room/00001/",
		"/chat/v1/room/1/messages/x/", "/%2e%2e/etc/passwd", "/static/../go.mod", "/static/%2e%2e/x", "/" + strings.Repeat("a", 4000)} {
		if _, err := ts.send(req{Method: "GET", Path: p, Token: u.Access}); err != nil {
			t.Fatalf("GET %.60s: %v", p, err)
		}
	}
	// The server still works and stored nothing from the garbage.
	if h := ts.allHistory(t, u, room.ID); len(h) > len(garbageValues)*3 {
		t.Errorf("garbage stored %d messages", len(h))
	}
	ts.postMessage(t, u, room.ID, "still alive")
}

// HEAD is answered like GET without a body, and OPTIONS lists the methods,
// as Django REST framework does.
func TestHeadAndOptions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	r := ts.do(t, req{Method: "HEAD", Path: "/chat/v1/room/", Token: u.Access})
	if r.Status != http.StatusOK {
		t.Fatalf("HEAD rooms: %d", r.Status)
	}
	req, err := http.NewRequest("OPTIONS", ts.url+"/chat/v1/room/", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Allow") != "GET, HEAD, OPTIONS, POST" {
		t.Fatalf("OPTIONS rooms: %d Allow=%q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestHeadersTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	// Under the default 8 KiB a large cookie header is fine.
	r := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: u.Access, Header: map[string]string{"Cookie": "big=" + strings.Repeat("c", 6000)}})
	expectStatus(t, r, http.StatusOK)
	r = ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: u.Access, Header: map[string]string{"X-Big": strings.Repeat("x", 10000)}})
	expectBody(t, r, http.StatusRequestHeaderFieldsTooLarge, `{"detail":"Request header fields too large."}`)
	r = ts.do(t, req{Method: "GET", Path: "/chat/v1/room/?q=" + strings.Repeat("q", 10000), Token: u.Access})
	expectStatus(t, r, http.StatusRequestHeaderFieldsTooLarge)

	small := newTestServer(t, func(c *Config) { c.MaxHeaderBytes = 2048 })
	r = small.do(t, req{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Big": strings.Repeat("x", 3000)}})
	expectStatus(t, r, http.StatusRequestHeaderFieldsTooLarge)
	expectStatus(t, small.do(t, req{Method: "GET", Path: "/healthz"}), http.StatusOK)
}

// A client that writes its whole body before it reads (Python's
// http.client does) still gets the 413 for a 10 MiB body: the refusal
// lingers, reading and dropping the body, instead of resetting the
// connection under the client's writes.
func TestBodyTooLargeWrittenWhole(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	body := bytes.Repeat([]byte("a"), 10<<20)
	conn, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	head := "POST /chat/v1/message/ HTTP/1.1\r\nHost: " + ts.addr + "\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		t.Fatalf("writing the body: %v (the server reset the connection before the client could read its answer)", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}
