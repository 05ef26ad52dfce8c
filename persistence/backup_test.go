package persistence

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// TestRestoreRefusesBadInput: a truncated stream fails and leaves the
// directory empty for a retry; a non-empty directory is refused; reading
// a directory that holds no database fails without creating it.
func TestRestoreRefusesBadInput(t *testing.T) {
	s := openTestStoreWith(t, Config{Dir: filepath.Join(t.TempDir(), "data")})
	for i := range 50 {
		if err := s.CreateUser(&pb.User{Email: string(rune('a'+i%26)) + "@example.com" + string(rune('0'+i/26))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeToken("jti", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if err := Restore(Config{Dir: dir, Logger: discardLog}, bytes.NewReader(buf.Bytes()[:buf.Len()/2])); err == nil {
		t.Fatal("restore of a truncated stream succeeded")
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("after a failed restore the directory holds %d entries (%v), want none", len(entries), err)
	}
	if err := Restore(Config{Dir: dir, Logger: discardLog}, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("restore after a failed one: %v", err)
	}
	if err := Restore(Config{Dir: dir, Logger: discardLog}, bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into a non-empty directory: %v, want ErrNotEmpty", err)
	}
	r := openTestStoreWith(t, Config{Dir: dir, ReadOnly: true})
	if revoked, err := r.IsRevoked("jti"); err != nil || !revoked {
		t.Fatalf("revoked token after restore: %v %v", revoked, err)
	}

	missing := filepath.Join(t.TempDir(), "typo")
	if _, err := Open(Config{Dir: missing, ReadOnly: true, Logger: discardLog}); err == nil {
		t.Fatal("read-only open of a directory without a database succeeded")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("read-only open created %s", missing)
	}
}
