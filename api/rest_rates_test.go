package api

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// expectThrottled checks DRF's throttle answer: 429, the wait in whole
// seconds in Retry-After and in the detail, and nothing else in the body.
// The wait is about want seconds (aboutWait): the allowance refills while
// the test runs.
func expectThrottled(t testing.TB, r *response, want int) {
	t.Helper()
	expectStatus(t, r, http.StatusTooManyRequests)
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || !aboutWait(n, want) {
		t.Fatalf("Retry-After %q, want about %d", r.Header.Get("Retry-After"), want)
	}
	expectBody(t, r, http.StatusTooManyRequests,
		fmt.Sprintf(`{"detail": "Request was throttled. Expected available in %d seconds."}`, n))
}

// TestRESTMessagesThrottledPerUser: past its burst, a user's posts get
// 429 with the wait for the next message, and are not stored; another
// user posts freely.
func TestRESTMessagesThrottledPerUser(t *testing.T) {
	t.Parallel()
	const burst = 5
	ts := newTestServer(t, func(c *Config) { c.MessageRate, c.MessageBurst = blockedRate, burst })
	u, v := ts.newUser(t), ts.newUser(t)
	room := ts.createRoom(t, u, "throttled", 0)
	for i := range burst {
		ts.postMessage(t, u, room.ID, "m"+strconv.Itoa(i))
	}
	post := req{Method: "POST", Path: "/chat/v1/message/", Body: map[string]any{"room": room.ID, "message": "one too many"}, Token: u.Access}
	expectThrottled(t, ts.do(t, post), 100)
	if got := ts.allHistory(t, u, room.ID); len(got) != burst {
		t.Fatalf("%d messages stored, want the %d posted before the 429", len(got), burst)
	}
	ts.postMessage(t, v, room.ID, "another user")
}

// TestRESTRoomCreationThrottledPerUser: --room-rate 3 lets a user create
// three rooms a minute; the fourth is a 429 with the 20 s wait, and
// another user still creates rooms.
func TestRESTRoomCreationThrottledPerUser(t *testing.T) {
	t.Parallel()
	const perMinute = 3
	ts := newTestServer(t, func(c *Config) { c.RoomRate = perMinute })
	u, v := ts.newUser(t), ts.newUser(t)
	for i := range perMinute {
		ts.createRoom(t, u, "room "+strconv.Itoa(i), 0)
	}
	expectThrottled(t, ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Body: map[string]any{"name": "fourth"}, Token: u.Access}), 60/perMinute)
	ts.createRoom(t, v, "another user's", 0)
	rooms := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: u.Access})
	var list []roomJSON
	rooms.decode(t, &list)
	if len(list) != perMinute+1 {
		t.Fatalf("%d rooms exist, want %d", len(list), perMinute+1)
	}
}

// TestRESTRegistrationThrottledPerAddress: --register-rate 3 lets one
// client address make three registration requests a minute, refused ones
// included (probing which emails are taken costs the same); the next one
// is a 429 even when valid. Logging in is not a registration.
func TestRESTRegistrationThrottledPerAddress(t *testing.T) {
	t.Parallel()
	const perMinute = 3
	ts := newTestServer(t, func(c *Config) { c.RegisterRate = perMinute })
	first := uniqueEmail("first")
	ts.register(t, first, "first")
	expectFieldError(t, ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(first, "again")}),
		"email", "A user is already registered with this e-mail address.")
	ts.register(t, uniqueEmail("third"), "third")
	expectThrottled(t, ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(uniqueEmail("fourth"), "fourth")}), 60/perMinute)
	ts.login(t, first, testPassword)
}

func TestThrottledAnswerRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		n    int
		unit string
	}{
		{time.Microsecond, 1, "second"},
		{time.Second, 1, "second"},
		{1001 * time.Millisecond, 2, "seconds"},
		{59500 * time.Millisecond, 60, "seconds"},
	} {
		e := throttled(tc.wait)
		want := fmt.Sprintf("Request was throttled. Expected available in %d %s.", tc.n, tc.unit)
		if e.Code != ERATELIMIT || e.RetryAfter != tc.n || e.Detail != want {
			t.Errorf("throttled(%v) = %+v, want Retry-After %d and %q", tc.wait, e, tc.n, want)
		}
	}
}
