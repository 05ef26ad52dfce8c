package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rfc3339 is PROTOCOL.md's timestamp: RFC 3339 with a time zone.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

func expectTimestamp(t testing.TB, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok || !rfc3339.MatchString(s) {
		t.Fatalf("timestamp %#v is not RFC 3339 with a zone", v)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return ts
}

// expectUserObject checks the user object of PROTOCOL.md: exactly its keys.
func expectUserObject(t testing.TB, u map[string]any, email, nickname string) {
	t.Helper()
	if len(u) != 6 {
		t.Errorf("user has keys %v, want id, email, nickname, profile_picture_url, date_joined, hide_email", keys(u))
	}
	if u["hide_email"] != false {
		t.Errorf("hide_email %#v, want false", u["hide_email"])
	}
	if id, ok := u["id"].(float64); !ok || id < 1 || id != float64(int64(id)) {
		t.Errorf("id %#v is not a positive integer", u["id"])
	}
	if u["email"] != email || u["nickname"] != nickname {
		t.Errorf("user %v, want email %q nickname %q", u, email, nickname)
	}
	if pic, ok := u["profile_picture_url"]; !ok || pic != nil {
		t.Errorf("profile_picture_url %#v, want null", pic)
	}
	joined := expectTimestamp(t, u["date_joined"])
	if d := time.Since(joined); d < -time.Minute || d > time.Minute {
		t.Errorf("date_joined %v is not now", joined)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRegisterCreatesUser(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := uniqueEmail("reg")
	u := ts.register(t, email, "Alice")
	expectUserObject(t, u, email, "Alice")

	// The next account gets a larger id.
	u2 := ts.register(t, uniqueEmail("reg"), "Bob")
	if u2["id"].(float64) <= u["id"].(float64) {
		t.Errorf("ids %v then %v: not increasing", u["id"], u2["id"])
	}
}

func TestRegisterUnicodeNicknamesRoundTrip(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, nick := range []string{
		"사용자명",
		"😀🎉👩‍💻",
		strings.Repeat("가", 20),
		strings.Repeat("😀", 20),
		"Zoë \"quoted\" <b>&",
	} {
		email := uniqueEmail("uni")
		r := ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(email, nick)})
		expectStatus(t, r, http.StatusCreated)
		if got := r.object(t)["nickname"]; got != nick {
			t.Errorf("register nickname %q came back %q", nick, got)
		}
		// Byte-exact in the raw body: a compact JSON string, no escaping of
		// non-ASCII characters needed.
		enc, _ := json.Marshal(nick)
		if !bytes.Contains(r.Body, enc) && !strings.ContainsAny(nick, `"<>&`) {
			t.Errorf("body %s does not contain %s", r.Body, enc)
		}
		access, _ := ts.login(t, email, testPassword)
		p := ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: access})
		expectStatus(t, p, http.StatusOK)
		if got := p.object(t)["nickname"]; got != nick {
			t.Errorf("profile nickname %q, registered %q", got, nick)
		}
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	taken := uniqueEmail("Taken")
	ts.register(t, taken, "first")
	valid := func(changes map[string]any) map[string]any {
		b := registerBody(uniqueEmail("v"), "nick")
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	const (
		required = "This field is required."
		tooShort = "This password is too short. It must contain at least 8 characters."
		common   = "This password is too common."
		numeric  = "This password is entirely numeric."
		mismatch = "The two password fields didn't match."
		invalid  = "Enter a valid email address."
		dupEmail = "A user is already registered with this e-mail address."
	)
	for _, tc := range []struct {
		name         string
		body         map[string]any
		field, msg   string
		alsoRejected []string
	}{
		{"missing email", valid(map[string]any{"email": nil}), "email", required, nil},
		{"missing password1", valid(map[string]any{"password1": nil}), "password1", required, nil},
		{"missing password2", valid(map[string]any{"password2": nil}), "password2", required, nil},
		{"missing nickname", valid(map[string]any{"nickname": nil}), "nickname", required, nil},
		{"invalid email", valid(map[string]any{"email": "not-an-email"}), "email", invalid, nil},
		{"email without domain dot", valid(map[string]any{"email": "a@b"}), "email", invalid, nil},
		{"email with space", valid(map[string]any{"email": "a b@example.com"}), "email", invalid, nil},
		{"email display name", valid(map[string]any{"email": "Al <al@example.com>"}), "email", invalid, nil},
		{"email non-ASCII local part", valid(map[string]any{"email": "üser@example.com"}), "email", invalid, nil},
		{"email double dot", valid(map[string]any{"email": "a..b@example.com"}), "email", invalid, nil},
		{"email one-letter TLD", valid(map[string]any{"email": "a@example.c"}), "email", invalid, nil},
		{"email hyphen label", valid(map[string]any{"email": "a@-example.com"}), "email", invalid, nil},
		{"duplicate email", valid(map[string]any{"email": taken}), "email", dupEmail, nil},
		{"duplicate email other case", valid(map[string]any{"email": strings.ToUpper(taken)}), "email", dupEmail, nil},
		{"passwords differ", valid(map[string]any{"password2": testPassword + "x"}), "non_field_errors", mismatch, nil},
		{"short password", valid(map[string]any{"password1": "Ab3$xyz", "password2": "Ab3$xyz"}), "password1", tooShort, nil},
		{"numeric password", valid(map[string]any{"password1": "73914682", "password2": "73914682"}), "password1", numeric, nil},
		{"common password", valid(map[string]any{"password1": "password", "password2": "password"}), "password1", common, nil},
		{"common numeric password", valid(map[string]any{"password1": "12345678", "password2": "12345678"}), "password1", common, []string{numeric}},
		{"common password, any case", valid(map[string]any{"password1": "AbcDefGh", "password2": "AbcDefGh"}), "password1", common, nil},
		{"common password with digits", valid(map[string]any{"password1": "Football1", "password2": "Football1"}), "password1", common, nil},
		{"password over bcrypt's 72 bytes", valid(map[string]any{"password1": strings.Repeat("비밀", 13), "password2": strings.Repeat("비밀", 13)}), "password1", "", nil},
		{"empty nickname", valid(map[string]any{"nickname": ""}), "nickname", "", nil},
		{"blank nickname", valid(map[string]any{"nickname": "   "}), "nickname", "", nil},
		{"21-character nickname", valid(map[string]any{"nickname": strings.Repeat("a", 21)}), "nickname", "Ensure this field has no more than 20 characters.", nil},
		{"21 Korean characters", valid(map[string]any{"nickname": strings.Repeat("가", 21)}), "nickname", "", nil},
		{"21 emoji", valid(map[string]any{"nickname": strings.Repeat("😀", 21)}), "nickname", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: tc.body})
			expectFieldError(t, r, tc.field, tc.msg)
			for _, m := range tc.alsoRejected {
				expectFieldError(t, r, tc.field, m)
			}
		})
	}

	// Every missing field is reported at once.
	r := ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: map[string]any{}})
	expectBody(t, r, http.StatusBadRequest, `{"email":["`+required+`"],"password1":["`+required+`"],"password2":["`+required+`"],"nickname":["`+required+`"]}`)
	// Addresses Django's EmailValidator takes are taken.
	for _, e := range []string{"first.last+tag@sub.example.co.uk", "o'hara_{x}@example.io", "u@bücher.example", "u@xn--bcher-kva.example", "u@123.example.com"} {
		ts.register(t, e, "ok")
	}

	// Field errors are reported together, and the passwords are compared
	// only once every field is valid (DRF's validate() order).
	expectBody(t, ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: valid(map[string]any{"email": taken, "password1": "short", "password2": "other"})}),
		http.StatusBadRequest, `{"email":["`+dupEmail+`"],"password1":["`+tooShort+`"]}`)
	// A rejected registration creates nothing: the email is still free.
	weak := valid(map[string]any{"password1": "short", "password2": "short"})
	expectStatus(t, ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: weak}), http.StatusBadRequest)
	ts.register(t, weak["email"].(string), "second try")
}

func TestRegisterSameEmailConcurrently(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := uniqueEmail("race")
	const n = 50
	statuses := make([]int, n)
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Vary the case: emails compare case-insensitively.
			e := email
			if i%2 == 1 {
				e = strings.ToUpper(email)
			}
			r, err := ts.send(req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(e, "racer")})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i], bodies[i] = r.Status, r.Body
		})
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
			if !bytes.Contains(bodies[i], []byte("A user is already registered with this e-mail address.")) {
				t.Errorf("400 body %s", bodies[i])
			}
		default:
			t.Errorf("status %d: %s", s, bodies[i])
		}
	}
	if created != 1 {
		t.Fatalf("%d registrations of one email succeeded, want exactly 1", created)
	}
}

func TestRegisterDistinctEmailsConcurrently(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const n = 50
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := ts.send(req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(uniqueEmail("many"), "many")})
			if err != nil {
				t.Error(err)
				return
			}
			if r.Status != http.StatusCreated {
				t.Errorf("status %d: %s", r.Status, r.Body)
				return
			}
			var u struct{ ID int64 }
			if err := json.Unmarshal(r.Body, &u); err != nil {
				t.Error(err)
			}
			ids[i] = u.ID
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, id := range ids {
		if id < 1 || seen[id] {
			t.Fatalf("ids %v: not distinct positive integers", ids)
		}
		seen[id] = true
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := uniqueEmail("Login")
	reg := ts.register(t, email, "로그인")

	r := ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: map[string]string{"email": email, "password": testPassword}})
	expectStatus(t, r, http.StatusOK)
	body := r.object(t)
	if len(body) != 3 {
		t.Errorf("login keys %v, want access, refresh, user", keys(body))
	}
	access, _ := body["access"].(string)
	if refresh, _ := body["refresh"].(string); access == "" || refresh == "" || access == refresh {
		t.Fatalf("tokens %q %q", access, refresh)
	}
	user, _ := body["user"].(map[string]any)
	expectUserObject(t, user, email, "로그인")
	if user["id"] != reg["id"] || user["date_joined"] != reg["date_joined"] {
		t.Errorf("login user %v, registered %v", user, reg)
	}

	var cookie *http.Cookie
	for _, c := range r.raw.Cookies() {
		if c.Name == "access_token" {
			cookie = c
		}
	}
	switch {
	case cookie == nil:
		t.Fatalf("no access_token cookie: %v", r.Header["Set-Cookie"])
	case cookie.Value != access:
		t.Errorf("cookie holds %q, want the access token", cookie.Value)
	case !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/":
		t.Errorf("cookie %q: want HttpOnly, SameSite=Lax, Path=/", r.Header.Get("Set-Cookie"))
	}

	// The access token works; the email is case-insensitive at login too.
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: access}), http.StatusOK)
	ts.login(t, strings.ToUpper(email), testPassword)
}

func TestLoginRejections(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := uniqueEmail("rej")
	ts.register(t, email, "rej")
	login := func(body any) *response {
		return ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: body})
	}
	const bad = `{"non_field_errors":["Unable to log in with provided credentials."]}`
	wrong := login(map[string]string{"email": email, "password": "wrong-password"})
	unknown := login(map[string]string{"email": uniqueEmail("nobody"), "password": testPassword})
	expectBody(t, wrong, http.StatusBadRequest, bad)
	expectBody(t, unknown, http.StatusBadRequest, bad)
	if !bytes.Equal(wrong.Body, unknown.Body) {
		t.Errorf("unknown email %s and wrong password %s answer differently", unknown.Body, wrong.Body)
	}
	if wrong.raw.Header.Get("Set-Cookie") != "" {
		t.Errorf("a failed login set a cookie")
	}
	expectBody(t, login(map[string]string{"email": email, "password": strings.Repeat("long", 40)}), http.StatusBadRequest, bad)
	expectFieldError(t, login(map[string]string{"email": email}), "password", "This field is required.")
	expectFieldError(t, login(map[string]string{"password": testPassword}), "email", "This field is required.")
	expectFieldError(t, login(map[string]any{"email": email, "password": nil}), "password", "")
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	const rate = 3
	ts := newTestServer(t, func(c *Config) { c.LoginRate = rate })
	email := uniqueEmail("slow")
	ts.register(t, email, "slow")
	// Successful logins are not guesses: they never use up the limit.
	for range 3 * rate {
		ts.login(t, email, testPassword)
	}
	body := map[string]string{"email": email, "password": "wrong-password"}
	for i := range rate {
		r := ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: body})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("attempt %d: status %d, want 400 before the limit: %s", i+1, r.Status, r.Body)
		}
	}
	// Over the limit: even the right password is refused, with Retry-After.
	body["password"] = testPassword
	r := ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: body})
	expectThrottled(t, r, 60/rate) // DRF's answer, as every rate gives
	// The limit is per email: another account still logs in.
	other := uniqueEmail("fast")
	ts.register(t, other, "fast")
	ts.login(t, other, testPassword)
}

// TestLoginRefusedByAddressRemembersNoEmail: once a client address is
// over its login rate, its attempts with ever new (and long) emails are
// refused without the server remembering any of them, so that refused
// requests cannot grow its memory; the ones it remembers cost a digest,
// whatever the email's length.
func TestLoginRefusedByAddressRemembersNoEmail(t *testing.T) {
	t.Parallel()
	const rate = 1 // the address may fail 5 times a minute
	ts := newTestServer(t, func(c *Config) { c.LoginRate = rate })
	long := strings.Repeat("x", 4<<10)
	for i := range 5*rate + 20 {
		body := map[string]string{"email": strconv.Itoa(i) + long + "@example.com", "password": "wrong-password"}
		r := ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: body})
		if i >= 5*rate+1 { // the address's minute has not refilled by then
			expectStatus(t, r, http.StatusTooManyRequests)
		}
	}
	if n := ts.srv.loginByEmail.size(); n > 5*rate+1 {
		t.Fatalf("the email limits remember %d emails after the address was refused: want at most %d", n, 5*rate+1)
	}
}

func TestTokenRefreshAndLogout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)

	r := ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": u.Refresh}})
	expectStatus(t, r, http.StatusOK)
	access, _ := r.object(t)["access"].(string)
	if access == "" {
		t.Fatalf("refresh answered %s", r.Body)
	}
	if c := jwtClaims(t, access); c["token_type"] != "access" || c["user_id"] != json.Number(strconv.FormatInt(u.ID, 10)) {
		t.Errorf("refreshed access claims %v", c)
	}
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: access}), http.StatusOK)

	// An access token is not a refresh token.
	expectTokenInvalid(t, ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": u.Access}}))
	expectTokenInvalid(t, ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": "garbage"}}))
	expectFieldError(t, ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{}}), "refresh", "This field is required.")

	// Logout revokes the refresh token, not the others.
	_, other := ts.login(t, u.Email, testPassword)
	out := ts.do(t, req{Method: "POST", Path: "/user/v1/logout/", Body: map[string]string{"refresh": u.Refresh}})
	expectStatus(t, out, http.StatusOK)
	// The cookie is deleted with the path it was set with, or a browser
	// would keep the login's cookie (a cookie is known by name and path).
	var gone *http.Cookie
	for _, c := range out.raw.Cookies() {
		if c.Name == "access_token" {
			gone = c
		}
	}
	if gone == nil || gone.Value != "" || gone.Path != "/" || gone.Expires.After(time.Now()) {
		t.Errorf("logout cookie %q: want access_token emptied, Path=/, expired", out.Header.Get("Set-Cookie"))
	}
	expectTokenInvalid(t, ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": u.Refresh}}))
	expectTokenInvalid(t, ts.do(t, req{Method: "POST", Path: "/user/v1/logout/", Body: map[string]string{"refresh": u.Refresh}}))
	expectStatus(t, ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": other}}), http.StatusOK)
	expectFieldError(t, ts.do(t, req{Method: "POST", Path: "/user/v1/logout/", Body: map[string]string{}}), "refresh", "This field is required.")
}

func TestProfile(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	r := ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: u.Access})
	expectStatus(t, r, http.StatusOK)
	got := r.object(t)
	expectUserObject(t, got, u.Email, u.Nickname)
	if got["id"] != u.registerResponse["id"] || got["date_joined"] != u.registerResponse["date_joined"] {
		t.Errorf("profile %v, registered %v", got, u.registerResponse)
	}

	patch := func(body any) *response {
		return ts.do(t, req{Method: "PATCH", Path: "/user/v1/profile/", Body: body, Token: u.Access})
	}
	r = patch(map[string]any{"nickname": "  새이름 🎉  "})
	expectStatus(t, r, http.StatusOK)
	expectUserObject(t, r.object(t), u.Email, "새이름 🎉")
	r = ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: u.Access})
	expectUserObject(t, r.object(t), u.Email, "새이름 🎉")

	// Messages carry the new nickname.
	room := ts.createRoom(t, u, "profile", 0)
	if m := ts.postMessage(t, u, room.ID, "hi"); m.Nickname != "새이름 🎉" {
		t.Errorf("message nickname %q after rename", m.Nickname)
	}

	expectFieldError(t, patch(map[string]any{"nickname": ""}), "nickname", "")
	expectFieldError(t, patch(map[string]any{"nickname": strings.Repeat("b", 21)}), "nickname", "")
	expectFieldError(t, patch(map[string]any{"nickname": nil}), "nickname", "")
	expectFieldError(t, patch(map[string]any{"nickname": []int{1}}), "nickname", "")
	// A rejected change changed nothing; an empty patch changes nothing.
	r = patch(map[string]any{})
	expectStatus(t, r, http.StatusOK)
	expectUserObject(t, r.object(t), u.Email, "새이름 🎉")
	// Removing a picture one does not have leaves it null.
	r = patch(map[string]any{"profile_picture": nil})
	expectStatus(t, r, http.StatusOK)
	expectUserObject(t, r.object(t), u.Email, "새이름 🎉")

	expectBody(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/"}), http.StatusUnauthorized,
		`{"detail":"Authentication credentials were not provided."}`)
	expectStatus(t, ts.do(t, req{Method: "PATCH", Path: "/user/v1/profile/", Body: map[string]any{"nickname": "x"}}), http.StatusUnauthorized)
}
