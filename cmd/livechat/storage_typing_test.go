package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestTypingWorksWhenStorageFull: on a volume past its reserve, where
// messages are refused, typing indicators still go through: they are
// never stored. A read marker is stored, and is refused like a message.
func TestTypingWorksWhenStorageFull(t *testing.T) {
	vol := mountTmpfs(t, "24m")
	const reserve = 6 << 20
	url, _ := startDataServer(t, filepath.Join(vol, "data"), func(c *serveConfig) { c.storageReserve = reserve })
	c := newCrashClient(url)
	alice := c.account(t, "alice@example.com", "앨리스")
	bob := c.account(t, "bob@example.com", "민수")
	room := c.createRoom(t, alice, map[string]any{"name": "full"})
	a := dialRoom(t, url, room.ID, alice.access)
	b := dialRoom(t, url, room.ID, bob.access+"&events=typing")
	// Both sessions have joined once each has seen the other's message.
	writeJSON(t, a, map[string]any{"type": "chat.message", "message": "from alice"})
	writeJSON(t, b, map[string]any{"type": "chat.message", "message": "from bob"})
	for _, ws := range []*websocket.Conn{a, b} {
		readUntil(t, ws, func(f map[string]any) bool { return f["message"] == "from bob" })
	}

	fillVolume(t, vol, reserve/3)
	eventually(t, 5*time.Second, func() error {
		status, body, err := c.do("POST", "/chat/v1/message/", alice.access, map[string]any{"room": room.ID, "message": "full?"})
		if err != nil || status != http.StatusInsufficientStorage {
			return fmt.Errorf("post on a full volume: %d %s %v, want 507", status, body, err)
		}
		return nil
	})
	writeJSON(t, a, map[string]any{"type": "chat.message", "message": "full?"})
	// (REST posts answered 201 before the volume was seen full come first.)
	if f := readUntil(t, a, func(f map[string]any) bool { return f["type"] != "chat.message" }); f["type"] != "chat.error" || f["error_type"] != "storage_full" {
		t.Fatalf("socket message on a full volume: %v, want chat.error storage_full", f)
	}

	for _, typing := range []bool{true, false} {
		writeJSON(t, a, map[string]any{"type": "chat.typing", "typing": typing})
		f := readUntil(t, b, func(f map[string]any) bool { return f["type"] != "chat.user.join" && f["type"] != "chat.message" })
		if f["type"] != "chat.typing" || f["typing"] != typing || f["nickname"] != "앨리스" {
			t.Fatalf("bob got %v on a full volume, want alice's chat.typing %v", f, typing)
		}
	}

	writeJSON(t, a, map[string]any{"type": "chat.read", "seq": 2})
	if f := readUntil(t, a, func(f map[string]any) bool { return f["type"] == "chat.error" }); f["error_type"] != "storage_full" {
		t.Fatalf("chat.read on a full volume: %v, want chat.error storage_full", f)
	}
}

func writeJSON(t testing.TB, ws *websocket.Conn, v any) {
	t.Helper()
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteJSON(v); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads frames until one satisfies ok, and returns it.
func readUntil(t testing.TB, ws *websocket.Conn, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	for {
		if f := readFrame(t, ws); ok(f) {
			return f
		}
	}
}
