package bench

import (
	"encoding/base64"
	"strconv"
	"testing"
	"time"
)

// testToken is a JWT-shaped token with the given iat and exp (unsigned:
// the load generator only reads them).
func testToken(iat, exp int64) string {
	claims := `{"iat":` + strconv.FormatInt(iat, 10) + `,"exp":` + strconv.FormatInt(exp, 10) + `}`
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
}

func TestRenewInUsesTheTokenLifetime(t *testing.T) {
	at := time.Unix(5_000_000, 0)
	for _, tc := range []struct {
		token string
		now   time.Time
		want  time.Duration
		ok    bool
	}{
		{testToken(100, 100+3600), at, 2699250 * time.Millisecond, true}, // ¾ of an hour less a second
		{testToken(100, 103), at, 1500 * time.Millisecond, true},         // ¾ of (3 s − 1 s)
		{testToken(100, 101), at, 250 * time.Millisecond, true},          // a quarter at least
		{testToken(100, 103), at.Add(time.Second), 500 * time.Millisecond, true},
		{testToken(100, 103), at.Add(time.Hour), 0, true}, // overdue: at once
		{"not-a-token", at, 0, false},
		{testToken(100, 90), at, 0, false},
		{testToken(0, 90), at, 0, false},
	} {
		got, ok := renewIn(tc.token, at, tc.now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("renewIn(%s, +%s) = %s, %v; want %s, %v", tc.token, tc.now.Sub(at), got, ok, tc.want, tc.ok)
		}
	}
}

func TestKeyringWithoutReadableTokensNeverRenews(t *testing.T) {
	e := &environment{}
	kr := e.newKeyring([]account{{Token: "opaque", Refresh: "r"}, {Token: testToken(100, 103)}})
	defer kr.stop()
	for _, k := range kr.keys {
		if k.timer != nil {
			t.Fatalf("a renewal was scheduled for %q", *k.access.Load())
		}
	}
	if kr.token(0) != "opaque" || kr.token(3) != testToken(100, 103) {
		t.Fatalf("tokens %q, %q", kr.token(0), kr.token(3))
	}
}
