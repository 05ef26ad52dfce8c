package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// serveOn runs the server in-process on a data directory and returns its
// base URL and a function that stops it (shutting the store down cleanly).
func serveOn(t *testing.T, data string) (string, func()) {
	t.Helper()
	cfg, err := parseServeFlags([]string{"-addr", "127.0.0.1:0", "-data", data, "-bcrypt-cost", "4", "-login-rate", "100000",
		"-register-rate", "100000", "-room-rate", "100000", "-metrics-addr", ""}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.messageRate, cfg.messageBurst = 10_000, 10_000
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, cfg, log, func(a net.Addr) { addrc <- a }) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("server did not shut down in 30s")
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-addrc:
		return "http://" + a.String(), stop
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start in 10s")
	}
	return "", nil
}

type revMessage struct {
	ID        int64   `json:"id"`
	Seq       int64   `json:"seq"`
	Rev       int64   `json:"rev"`
	Message   string  `json:"message"`
	DeletedAt *string `json:"deleted_at"`
}

// filesContaining lists the files under dir whose bytes contain text.
func filesContaining(t *testing.T, dir, text string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(text)) {
			found = append(found, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func uniqueText(t *testing.T, label string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return label + "-" + hex.EncodeToString(b)
}

// A room's rev survives a restart (the next change takes the next value),
// and a deleted message's text, like an edited message's earlier text, is
// gone from the Badger files (value log and tables) once the server has
// stopped.
func TestEditsDurableAndDeletedTextErased(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	base, stop := serveOn(t, data)
	c := newCrashClient(base)
	alice := c.account(t, "alice@example.com", "앨리스")
	room := c.createRoom(t, alice, map[string]any{"name": "지우기"})
	secret, before := uniqueText(t, "deleted"), uniqueText(t, "before-edit")
	var kept, gone revMessage
	c.must(t, http.StatusCreated, "POST", "/chat/v1/message/", alice.access, map[string]any{"room": room.ID, "message": before}, &kept)
	c.must(t, http.StatusCreated, "POST", "/chat/v1/message/", alice.access, map[string]any{"room": room.ID, "message": secret}, &gone)
	c.must(t, http.StatusOK, "PATCH", fmt.Sprintf("/chat/v1/message/%d/", kept.ID), alice.access, map[string]any{"message": "after edit"}, &kept)
	c.must(t, http.StatusNoContent, "DELETE", fmt.Sprintf("/chat/v1/message/%d/", gone.ID), alice.access, nil, nil)
	stop()

	for _, text := range []string{secret, before} {
		if files := filesContaining(t, data, text); len(files) > 0 {
			t.Errorf("%q is still in %v", text, files)
		}
	}

	base, _ = serveOn(t, data)
	c = newCrashClient(base)
	alice.access = c.login(t, alice.email)
	var tomb revMessage
	c.must(t, http.StatusOK, "GET", fmt.Sprintf("/chat/v1/message/%d/", gone.ID), alice.access, nil, &tomb)
	if tomb.DeletedAt == nil || tomb.Message != "" || tomb.Rev != kept.Rev+1 {
		t.Errorf("after restart: %+v, want the tombstone at rev %d", tomb, kept.Rev+1)
	}
	var next revMessage
	c.must(t, http.StatusCreated, "POST", "/chat/v1/message/", alice.access, map[string]any{"room": room.ID, "message": "after restart"}, &next)
	if next.Rev != tomb.Rev+1 || next.Seq != 3 {
		t.Errorf("after restart a new message took rev %d seq %d, want rev %d seq 3", next.Rev, next.Seq, tomb.Rev+1)
	}
}
