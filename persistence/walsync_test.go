package persistence

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// newestFile is the name of the highest-numbered file of dir ending in ext.
func newestFile(t *testing.T, dir, ext string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(names) == 0 {
		t.Fatalf("no %s file in %s (%v)", ext, dir, err)
	}
	sort.Strings(names)
	return names[len(names)-1]
}

// Under fsync durability every write is synced before it is answered,
// and the files synced are the ones Badger writes: after the memtable
// fills and Badger moves on to a new write-ahead file, the store follows
// it. Reopened, the store has every message.
func TestFsyncFollowsBadgersFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, Logger: discardLog, MemoryBudget: MinMemoryBudget})
	if err != nil {
		t.Fatal(err)
	}
	if s.wal == nil || len(s.wal.files) != 2 {
		t.Fatalf("fsync durability follows %v, want the memtable's and the value log's files", s.wal)
	}
	firstMem := s.wal.files[walMem].f.Name()
	if firstMem != newestFile(t, dir, ".mem") {
		t.Fatalf("following %s, Badger writes %s", firstMem, newestFile(t, dir, ".mem"))
	}
	w := s.NewWriter(WriterConfig{})
	before := s.wal.syncs()
	text := strings.Repeat("x", 4000)
	const n = 400 // 1.6 MB: more than one memtable of a minimal budget
	for i := range n / 20 {
		msgs := make([]*pb.Message, 20)
		for k := range msgs {
			msgs[k] = msg(s, 1, int64(i*20+k+1))
			msgs[k].Text = text
		}
		appendWait(t, w, msgs...)
	}
	if got := s.wal.syncs() - before; got < n/20 {
		t.Fatalf("%d syncs for %d confirmed commits", got, n/20)
	}
	if err := s.update(func(*badger.Txn) error { return nil }); err != nil {
		t.Fatal(err)
	}
	mem := s.wal.files[walMem].f.Name()
	if mem == firstMem {
		t.Fatalf("still following %s after %d messages of 4 KB", mem, n)
	}
	if want := newestFile(t, dir, ".mem"); mem != want {
		t.Fatalf("following %s, Badger writes %s", mem, want)
	}
	w.Close()
	closeStore(t, s)

	s = openTestStore(t, dir)
	if got, err := s.MessagesAfter(1, 0, n+1); err != nil || len(got) != n {
		t.Fatalf("reopened: %d messages (%v), want %d", len(got), err, n)
	}
}

// The value log has a file even when no value went there, and os
// durability and in-memory stores sync nothing.
func TestFsyncOnlyWhereDurabilityAsksForIt(t *testing.T) {
	for _, c := range []Config{
		{Dir: t.TempDir(), Durability: DurabilityOS},
		{InMemory: true},
	} {
		c.Logger = discardLog
		s, err := Open(c)
		if err != nil {
			t.Fatal(err)
		}
		if s.wal != nil {
			t.Errorf("%+v: a store syncing files", c)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A file Badger moves past is synced once more, then the newest is
// followed, even when one between was created and deleted (flushed)
// between two syncs; calls that arrive while a sync runs wait for the
// next, which one sync serves; a sync that fails fails every later one.
func TestWALSyncFollowsAndGroups(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch("00007.mem")
	touch("00006.mem")
	w, err := newWALSync(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if w.files[walMem].fid != 7 || w.files[walVlog].f != nil {
		t.Fatalf("follows %d.mem and %v, want 00007.mem and no value log here", w.files[walMem].fid, w.files[walVlog].f)
	}
	touch("00008.mem")
	touch("00009.mem")
	if err := w.sync(true); err != nil {
		t.Fatal(err)
	}
	if w.files[walMem].fid != 9 {
		t.Fatalf("following %d after 00008 and 00009 appeared, want 9", w.files[walMem].fid)
	}
	touch("00010.mem")
	touch("00011.mem")
	if err := os.Remove(filepath.Join(dir, "00010.mem")); err != nil {
		t.Fatal(err)
	}
	touch("000003.vlog")
	if err := w.sync(false); err != nil {
		t.Fatal(err)
	}
	if w.files[walMem].fid != 11 || w.files[walVlog].fid != 3 {
		t.Fatalf("following %d.mem and %d.vlog after 00010 came and went, want 11 and 3", w.files[walMem].fid, w.files[walVlog].fid)
	}
	// With inotify, a sync lists the directory only when Badger created a
	// memtable or value log file: not for its tables.
	if runtime.GOOS == "linux" {
		if w.dir.changed() {
			t.Fatal("the directory changed with nothing created")
		}
		touch("000005.sst")
		if w.dir.changed() {
			t.Fatal("a new table counts as a new log file")
		}
	}
	touch("00012.mem")
	if err := w.sync(false); err != nil || w.files[walMem].fid != 12 {
		t.Fatalf("following %d.mem after 00012 appeared in a still directory (%v), want 12", w.files[walMem].fid, err)
	}

	// A sync slower than rawSyncMax makes the next one ordinary.
	w.hold = func() { time.Sleep(rawSyncMax + time.Millisecond) }
	if err := w.sync(true); err != nil || !w.slow {
		t.Fatalf("after a slow sync (%v): slow %v, want the next one ordinary", err, w.slow)
	}
	w.hold = nil
	for range 50 { // a sync of a small file takes well under 2 ms, if not every time on a busy machine
		if err := w.sync(true); err != nil {
			t.Fatal(err)
		}
		if !w.slow {
			break
		}
	}
	if w.slow {
		t.Fatal("no quick sync in 50 made the next one raw again")
	}

	// Hold the next sync while five more calls arrive.
	w.mu.Lock()
	held := &syncRound{done: make(chan struct{})}
	w.running = held
	w.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() { errs <- w.sync(false) })
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		w.mu.Lock()
		joined := 0
		if w.next != nil {
			joined = w.next.calls
		}
		w.mu.Unlock()
		if joined == 5 {
			break
		}
		if len(errs) != 0 {
			t.Fatal("a call returned while the sync before it ran")
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls wait for the next sync, want 5", joined)
		}
		time.Sleep(time.Millisecond)
	}
	rounds := w.syncs()
	w.mu.Lock()
	held.finished, w.running = true, nil
	w.mu.Unlock()
	close(held.done)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := w.syncs() - rounds; got != 1 {
		t.Fatalf("%d syncs served five calls", got)
	}

	// A sync that fails (here: its file is closed under it) fails the
	// ones after it, though nothing is wrong with the file then.
	broken := w.files[walMem].f
	_ = broken.Close()
	if err := w.sync(false); err == nil {
		t.Fatal("a sync of a closed file succeeded")
	}
	w.files[walMem].f, _ = os.Open(filepath.Join(dir, "00012.mem"))
	if err := w.sync(false); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("the sync after a failed one: %v, want it refused", err)
	}
	if w.broken() == nil {
		t.Fatal("a failed sync is not reported")
	}
}

// openFsyncStore opens a store with fsync durability in a temporary
// directory, and its writer; both close when the test ends, the writer
// first.
func openFsyncStore(t *testing.T) (*Store, *Writer) {
	t.Helper()
	s, err := Open(Config{Dir: t.TempDir(), Logger: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWriter(WriterConfig{})
	t.Cleanup(func() { w.Close(); _ = s.Close() })
	return s, w
}

// Under fsync durability a read sees a write only once it is synced:
// Badger shows a commit before the store has synced it, and a read then
// waits for the sync.
func TestFsyncReadSeesOnlySyncedWrites(t *testing.T) {
	s, w := openFsyncStore(t)

	release, holding := make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // before the writer closes: it waits for the held sync
	s.wal.mu.Lock()
	s.wal.hold = func() {
		select {
		case holding <- struct{}{}:
		default:
		}
		<-release
	}
	s.wal.mu.Unlock()
	m := msg(s, 1, 1)
	appended := make(chan error, 1)
	w.Append([]*pb.Message{m}, func(err error) { appended <- err })
	<-holding // committed, its sync held
	if err := s.db.View(func(txn *badger.Txn) error { _, err := txn.Get(MessageKey(1, 1)); return err }); err != nil {
		t.Fatalf("Badger does not show the commit yet: %v", err)
	}
	read := make(chan []*pb.Message, 1)
	go func() {
		got, _ := s.MessagesAfter(1, 0, 10)
		read <- got
	}()
	select {
	case got := <-read:
		t.Fatalf("a read returned %d messages while the write's sync was held", len(got))
	case <-time.After(100 * time.Millisecond):
	}
	free()
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if got := <-read; len(got) != 1 || got[0].Text != m.Text {
		t.Fatalf("after the sync the read returned %v, want the message", got)
	}
}

// After a failed sync the store refuses every write before it reaches
// Badger, and every read: what the kernel dropped cannot be vouched for.
func TestFsyncFailureRefusesWritesAndReads(t *testing.T) {
	s, w := openFsyncStore(t)
	appendErr := func(m *pb.Message) error {
		done := make(chan error, 1)
		w.Append([]*pb.Message{m}, func(err error) { done <- err })
		return <-done
	}
	if err := appendErr(msg(s, 1, 1)); err != nil {
		t.Fatal(err)
	}
	_ = s.wal.files[walMem].f.Close() // the next sync fails
	if err := appendErr(msg(s, 1, 2)); err == nil {
		t.Fatal("a write whose sync failed was confirmed")
	}
	if err := appendErr(msg(s, 1, 3)); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("a write after a failed sync: %v, want ErrSyncFailed", err)
	}
	if err := s.db.View(func(txn *badger.Txn) error { _, err := txn.Get(MessageKey(1, 3)); return err }); !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatalf("a write refused after a failed sync reached Badger (%v)", err)
	}
	if err := s.update(func(*badger.Txn) error { return nil }); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("an update after a failed sync: %v", err)
	}
	if _, err := s.MessagesAfter(1, 0, 10); !errors.Is(err, ErrSyncFailed) {
		t.Fatalf("a read after a failed sync: %v", err)
	}
	if !errors.Is(s.SyncFailed(), ErrSyncFailed) {
		t.Fatalf("SyncFailed: %v", s.SyncFailed())
	}
}
