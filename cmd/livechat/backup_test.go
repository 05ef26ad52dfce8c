package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestBackupRestoreRoundTrip backs up a running server (over its admin
// socket) and the same directory once stopped, restores each into a new
// directory, and serves it: accounts log in with their passwords, rooms
// and messages are all there, the signing secret is the same (an access
// and a refresh token issued before the backup still work) and a revoked
// refresh token is still revoked. Restore refuses a non-empty directory.
func TestBackupRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	url, stop := startDataServer(t, data, nil)
	c := newCrashClient(url)
	alice := c.account(t, "alice@example.com", "앨리스")
	bob := c.account(t, "bob@example.com", "bob")
	rooms := []crashRoom{
		c.createRoom(t, alice, map[string]any{"name": "first", "post": 7}),
		c.createRoom(t, bob, map[string]any{"name": "둘째"}),
	}
	var kept, revoked struct{ Refresh string }
	c.must(t, http.StatusOK, "POST", "/user/v1/login/", "", map[string]string{"email": alice.email, "password": crashPassword}, &kept)
	c.must(t, http.StatusOK, "POST", "/user/v1/login/", "", map[string]string{"email": alice.email, "password": crashPassword}, &revoked)
	c.must(t, http.StatusOK, "POST", "/user/v1/logout/", "", map[string]string{"refresh": revoked.Refresh}, nil)
	for i := range 30 {
		a := []crashAccount{alice, bob}[i%2]
		if _, err := c.post(a, rooms[i%2].ID, fmt.Sprintf("message %d ✓", i)); err != nil {
			t.Fatal(err)
		}
	}
	before := [][]crashMessage{c.history(t, alice, rooms[0].ID), c.history(t, alice, rooms[1].ID)}
	roomList := roomsOf(t, c.get(t, alice, "/chat/v1/room/"))

	online := filepath.Join(dir, "online.bak")
	if code := run([]string{"backup", "--data", data, "--out", online}); code != 0 {
		t.Fatalf("backup of a running server exited %d", code)
	}
	if st, err := os.Stat(online); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode: %v %v, want 0600", st, err)
	}
	late, err := c.post(alice, rooms[0].ID, "after the online backup")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	offline := filepath.Join(dir, "offline.bak")
	if code := run([]string{"backup", "--data", data, "--out", offline}); code != 0 {
		t.Fatalf("backup of a stopped directory exited %d", code)
	}

	for _, tc := range []struct {
		name, file string
		late       bool
	}{{"online", online, false}, {"offline", offline, true}} {
		t.Run(tc.name, func(t *testing.T) {
			restored := filepath.Join(t.TempDir(), "data")
			if code := run([]string{"restore", "--data", restored, "--in", tc.file}); code != 0 {
				t.Fatalf("restore exited %d", code)
			}
			if code := run([]string{"restore", "--data", restored, "--in", tc.file}); code == 0 {
				t.Fatal("restore into a non-empty directory succeeded")
			}
			url, _ := startDataServer(t, restored, nil)
			c := newCrashClient(url)
			a := crashAccount{email: alice.email, access: c.login(t, alice.email)}
			c.login(t, bob.email)
			// Tokens signed before the backup: the secret came back.
			c.must(t, http.StatusOK, "GET", "/user/v1/profile/", alice.access, nil, nil)
			c.must(t, http.StatusOK, "POST", "/user/v1/token/refresh/", "", map[string]string{"refresh": kept.Refresh}, nil)
			c.must(t, http.StatusUnauthorized, "POST", "/user/v1/token/refresh/", "", map[string]string{"refresh": revoked.Refresh}, nil)
			if got := roomsOf(t, c.get(t, a, "/chat/v1/room/")); got != roomList {
				t.Fatalf("rooms after restore:\n%s\nwant:\n%s", got, roomList)
			}
			want0 := before[0]
			if tc.late {
				want0 = append(append([]crashMessage{}, want0...), late)
			}
			checkHistory(t, c.history(t, a, rooms[0].ID), want0)
			checkHistory(t, c.history(t, a, rooms[1].ID), before[1])
			// The restored server writes, continuing ids and seqs.
			m, err := c.post(a, rooms[1].ID, "after restore")
			if err != nil {
				t.Fatal(err)
			}
			last := before[1][len(before[1])-1]
			if m.Seq != last.Seq+1 || m.ID <= before[0][len(before[0])-1].ID || m.ID <= last.ID {
				t.Fatalf("first message after restore: id %d seq %d, last before: id %d seq %d", m.ID, m.Seq, last.ID, last.Seq)
			}
		})
	}
}

// roomsOf is a room list without its chat_url, whose host is the server's.
func roomsOf(t testing.TB, body []byte) string {
	t.Helper()
	var rooms []map[string]any
	if err := json.Unmarshal(body, &rooms); err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		delete(r, "chat_url")
	}
	b, err := json.Marshal(rooms)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
