package persistence

import (
	"os"
	"path/filepath"
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
	firstMem := s.wal.files[0].f.Name()
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
	mem := s.wal.files[0].f.Name()
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

// A file Badger moves past is synced once more, then the next one is
// followed; calls that arrive while a sync runs wait for the next, which
// one sync serves.
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
	if len(w.files) != 1 || w.files[0].fid != 7 {
		t.Fatalf("follows %+v, want 00007.mem alone (no value log here)", w.files)
	}
	touch("00008.mem")
	touch("00009.mem")
	if err := w.sync(true); err != nil {
		t.Fatal(err)
	}
	if w.files[0].fid != 9 {
		t.Fatalf("following %d after 00008 and 00009 appeared, want 9", w.files[0].fid)
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
}
