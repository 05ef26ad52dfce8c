package persistence

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// mountTmpfs mounts a tmpfs of size (e.g. "16m") on a new directory and
// unmounts it when the test ends. Filling a small tmpfs is how the tests
// meet a full disk for real. It needs root (CI runs as root); anywhere
// else the test is skipped, saying so loudly.
func mountTmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("SKIPPED, FULL-DISK BEHAVIOUR NOT TESTED: cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillVolume writes a file in dir until at most leave bytes are free on
// its volume, and returns the file.
func fillVolume(t testing.TB, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		free, err := freeBytes(dir)
		if err != nil {
			t.Fatal(err)
		}
		if free <= leave {
			return path
		}
		n := min(int64(len(chunk)), max(free-leave, 4096))
		if _, err := f.Write(chunk[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatal(err)
		}
	}
}

// TestOpenOnFullVolumeIsReadOnly restarts a store on a volume filled to
// the last byte: it opens read-only instead of faulting, every read works,
// every write is refused with ErrStorageFull, and once space is freed the
// next open writes again.
func TestOpenOnFullVolumeIsReadOnly(t *testing.T) {
	vol := mountTmpfs(t, "16m")
	dir := filepath.Join(vol, "data")
	s, err := Open(Config{Dir: dir, Logger: discardLog, StorageReserve: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	u := &pb.User{Email: "full@example.com", Nickname: "full"}
	if err := s.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	fillRoom(t, s, w, 1, 50)
	secret, err := s.Secret()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	closeStore(t, s)

	filler := fillVolume(t, vol, 0)
	s, err = Open(Config{Dir: dir, Logger: discardLog, StorageReserve: 1 << 20})
	if err != nil {
		t.Fatalf("open on a full volume: %v", err)
	}
	if !s.ReadOnly() || !errors.Is(s.Writable(), ErrStorageFull) {
		t.Fatalf("read-only %v, writable %v: want read-only and ErrStorageFull", s.ReadOnly(), s.Writable())
	}
	if got, err := s.UserByEmail(u.Email); err != nil || got.Id != u.Id {
		t.Fatalf("read user: %v %v", got, err)
	}
	if msgs, err := s.MessagesBefore(1, 0, 100); err != nil || len(msgs) != 50 {
		t.Fatalf("read messages: %d %v", len(msgs), err)
	}
	if again, err := s.Secret(); err != nil || string(again) != string(secret) {
		t.Fatalf("secret on a read-only store: %v", err)
	}
	if err := s.CreateUser(&pb.User{Email: "new@example.com"}); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("create user on a full volume: %v, want ErrStorageFull", err)
	}
	if err := s.CreateRoom(&pb.Room{Name: "r"}); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("create room on a full volume: %v, want ErrStorageFull", err)
	}
	if err := s.RevokeToken("jti", time.Now().Add(time.Hour)); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("revoke on a full volume: %v, want ErrStorageFull", err)
	}
	w = s.NewWriter(WriterConfig{})
	errc := make(chan error, 1)
	w.Append([]*pb.Message{msg(s, 1, 51)}, func(err error) { errc <- err })
	if err := <-errc; !errors.Is(err, ErrStorageFull) {
		t.Fatalf("append on a full volume: %v, want ErrStorageFull", err)
	}
	w.Close()
	closeStore(t, s)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s = openTestStoreWith(t, Config{Dir: dir, StorageReserve: 1 << 20})
	if s.ReadOnly() || s.Writable() != nil {
		t.Fatalf("after freeing space: read-only %v, writable %v", s.ReadOnly(), s.Writable())
	}
	if err := s.CreateUser(&pb.User{Email: "new@example.com"}); err != nil {
		t.Fatal(err)
	}
}

// TestWritesResumeWhenSpaceReturns fills a volume into the reserve with
// another file: writes are refused, and resume
// by themselves, without reopening, once the file is deleted.
func TestWritesResumeWhenSpaceReturns(t *testing.T) {
	vol := mountTmpfs(t, "16m")
	s := openTestStoreWith(t, Config{Dir: filepath.Join(vol, "data"), StorageReserve: 4 << 20})
	if err := s.Writable(); err != nil {
		t.Fatal(err)
	}
	// Something else fills the volume into the reserve, leaving what
	// Badger needs to flush and close.
	filler := fillVolume(t, vol, 2<<20)
	eventuallyFull(t, s, true)
	if err := s.CreateUser(&pb.User{Email: "a@example.com"}); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("create user below the reserve: %v, want ErrStorageFull", err)
	}
	if err := s.AdmitMessage(100); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("admit message below the reserve: %v, want ErrStorageFull", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	eventuallyFull(t, s, false)
	if err := s.CreateUser(&pb.User{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
}

// TestDataFilesArePrivate opens a data directory left world-readable (by
// an older version, a restore, an operator): the directory becomes 0700
// and every file 0600, including the files Badger creates after the open,
// whatever the umask.
func TestDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	s := openTestStoreWith(t, Config{Dir: dir})
	closeStore(t, s)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	s = openTestStoreWith(t, Config{Dir: dir})
	if err := s.CreateUser(&pb.User{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		loose := looseFiles(t, dir)
		if len(loose) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("files not 0600 after 3s: %v", loose)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func looseFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var loose []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			loose = append(loose, e.Name()+" "+info.Mode().Perm().String())
		}
	}
	return loose
}

func openTestStoreWith(t testing.TB, cfg Config) *Store {
	t.Helper()
	cfg.Logger = discardLog
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// eventuallyFull waits until the store's Writable reports full (or not).
func eventuallyFull(t testing.TB, s *Store, full bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for errors.Is(s.Writable(), ErrStorageFull) != full {
		if time.Now().After(deadline) {
			t.Fatalf("storage full = %v not reached within 5s", full)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOpenKilledRunOnFullVolume opens a directory as a killed process left
// it (its write-ahead log not yet in a table) on a volume filled to the
// last byte: it cannot be read without replaying the log, which needs
// space, so the open fails with ErrStorageFull and a message saying how
// much to free, instead of faulting. Once space is freed it opens with
// every record.
func TestOpenKilledRunOnFullVolume(t *testing.T) {
	vol := mountTmpfs(t, "16m")
	dir := filepath.Join(vol, "data")
	s, err := Open(Config{Dir: dir, Logger: discardLog, StorageReserve: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	u := &pb.User{Email: "killed@example.com", Nickname: "killed"}
	if err := s.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(vol, "image") // the directory as a SIGKILL leaves it
	if out, err := exec.Command("cp", "-a", "--sparse=always", dir, image).CombinedOutput(); err != nil {
		t.Fatalf("copy the open directory: %v\n%s", err, out)
	}
	closeStore(t, s)
	if err := os.Remove(filepath.Join(image, "LOCK")); err != nil {
		t.Fatal(err)
	}

	filler := fillVolume(t, vol, 0)
	if s, err := Open(Config{Dir: image, Logger: discardLog, StorageReserve: 1 << 20}); !errors.Is(err, ErrStorageFull) {
		if err == nil {
			_ = s.Close()
		}
		t.Fatalf("open of a killed run's directory on a full volume: %v, want ErrStorageFull", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s = openTestStoreWith(t, Config{Dir: image, StorageReserve: 1 << 20})
	if got, err := s.UserByEmail(u.Email); err != nil || got.Id != u.Id {
		t.Fatalf("user after the log was replayed: %v %v", got, err)
	}
}

// TestWriterKeepsSeqGapFreeAcrossRefusal: a batch refused because the
// volume is far into its reserve, then space back before the room has
// heard of it. The room's later message, already appended, must be
// refused too, or it would be stored past a hole; the room restarted from
// what is stored reuses the refused seq, which is then written.
func TestWriterKeepsSeqGapFreeAcrossRefusal(t *testing.T) {
	s := openTestStoreWith(t, Config{Dir: filepath.Join(t.TempDir(), "data"), StorageReserve: 1 << 20})
	w := newTestWriter(t, s, WriterConfig{})
	appendErr := func(m *pb.Message) error {
		errc := make(chan error, 1)
		w.Append([]*pb.Message{m}, func(err error) { errc <- err })
		return <-errc
	}
	fillRoom(t, s, w, 1, 4)
	fillRoom(t, s, w, 2, 1)

	s.space.close()                                  // no measurement may undo the headroom set below
	saved := s.space.headroom.Swap(-s.space.reserve) // far into the reserve
	if err := appendErr(msg(s, 1, 5)); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("append with the volume far into its reserve: %v, want ErrStorageFull", err)
	}
	s.space.headroom.Store(saved) // space is back
	if err := appendErr(msg(s, 1, 6)); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("append of seq 6 after seq 5 was refused: %v, want ErrStorageFull", err)
	}
	if err := appendErr(msg(s, 2, 2)); err != nil {
		t.Fatalf("another room's append: %v", err)
	}
	appendWait(t, w, msg(s, 1, 5)) // the room, restarted, reuses seq 5
	appendWait(t, w, msg(s, 1, 6))
	got, err := s.MessagesAfter(1, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if seqs := seqsOf(t, 1, got); !equalSeqs(seqs, seqRange(1, 6)) {
		t.Fatalf("room 1 seqs %v, want 1..6", seqs)
	}
}
