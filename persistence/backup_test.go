package persistence

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
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

// TestReadOnlyOpenOfCrashImage opens for reading (as livechat backup does
// a stopped directory) a copy of a directory taken while its store was
// open, as a killed process leaves it: the write-ahead log holds records
// not yet in a table, which Badger's read-only mode refuses to replay. The
// open replays it and every record is there.
func TestReadOnlyOpenOfCrashImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openTestStoreWith(t, Config{Dir: dir})
	u := &pb.User{Email: "crash@example.com", Nickname: "crash"}
	if err := s.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(t.TempDir(), "image")
	if out, err := exec.Command("cp", "-a", "--sparse=always", dir, image).CombinedOutput(); err != nil {
		t.Fatalf("copy the open directory: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(image, "LOCK")); err != nil {
		t.Fatal(err)
	}
	r := openTestStoreWith(t, Config{Dir: image, ReadOnly: true})
	if got, err := r.UserByEmail(u.Email); err != nil || got.Id != u.Id {
		t.Fatalf("user in the crash image: %v %v", got, err)
	}
	var buf bytes.Buffer
	if err := r.Backup(&buf); err != nil || buf.Len() == 0 {
		t.Fatalf("backup of the crash image: %d bytes, %v", buf.Len(), err)
	}
}
