package persistence

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// walSync makes Badger's committed writes durable under fsync durability.
//
// Badger's own SyncWrites msyncs the memtable's write-ahead file and the
// value log after every write, as two ordinary system calls. In a quiet
// server each of those wakes the Go runtime's sysmon thread from its deep
// sleep and keeps it polling every 20 µs while the call blocks: most of
// the CPU a lone message cost beyond --durability os. So the store opens
// Badger without SyncWrites and, once a write is committed, syncs the two
// files Badger appends to itself: the current memtable's write-ahead file
// (NNNNN.mem) and the current value log (NNNNNN.vlog). Durability is the
// same: a write is answered only after its bytes are on disk.
//
// Badger numbers each new file one past the last. A file that appears
// past the one followed is followed from then on, after a last sync of the
// one before: Badger, not syncing writes, does not sync a file it leaves.
//
// Concurrent calls share syncs (group commit): a call waits for the sync
// in progress, which may have begun before its write was committed, and
// one sync then covers every call that waited.
type walSync struct {
	files []*walFile

	mu      sync.Mutex
	running *syncRound // the sync in progress, nil when none
	next    *syncRound // the sync the calls arriving now wait for
	rounds  int        // syncs run, for tests
}

// syncRound is one sync shared by every call that joined it.
type syncRound struct {
	done     chan struct{}
	calls    int  // calls served; under walSync.mu
	finished bool // under walSync.mu
	err      error
}

// walFile is one of the files Badger appends to, followed by number.
type walFile struct {
	dir, ext string
	width    int // digits of the number in the name
	fid      int
	f        *os.File
	next     nextFile // the name of the file that would follow it
}

// newWALSync follows the newest memtable and value log files in dir, which
// Badger has just opened for writing.
func newWALSync(dir string) (*walSync, error) {
	w := &walSync{}
	for _, kind := range []struct {
		ext   string
		width int
	}{{".mem", 5}, {".vlog", 6}} {
		f, err := newestWALFile(dir, kind.ext, kind.width)
		if err != nil {
			w.close()
			return nil, err
		}
		if f != nil {
			w.files = append(w.files, f)
		}
	}
	return w, nil
}

func newestWALFile(dir, ext string, width int) (*walFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fid := -1
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ext)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(name); err == nil && n > fid {
			fid = n
		}
	}
	if fid < 0 {
		return nil, nil
	}
	w := &walFile{dir: dir, ext: ext, width: width, fid: fid}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *walFile) path(fid int) string {
	return filepath.Join(w.dir, fmt.Sprintf("%0*d%s", w.width, fid, w.ext))
}

// open opens the file numbered w.fid and names the one after it.
func (w *walFile) open() error {
	f, err := os.Open(w.path(w.fid))
	if err != nil {
		return fmt.Errorf("persistence: follow Badger's log files: %w", err)
	}
	if w.f != nil {
		_ = w.f.Close()
	}
	w.f = f
	w.next, err = newNextFile(w.path(w.fid + 1))
	return err
}

// sync syncs the file followed, moving on to the files that came after it.
func (w *walFile) sync(raw bool) error {
	for w.next.exists() {
		if err := fdatasync(w.f, raw); err != nil {
			return fmt.Errorf("persistence: sync %s: %w", w.f.Name(), err)
		}
		w.fid++
		if err := w.open(); err != nil {
			return err
		}
	}
	if err := fdatasync(w.f, raw); err != nil {
		return fmt.Errorf("persistence: sync %s: %w", w.f.Name(), err)
	}
	return nil
}

// sync returns once every write committed before the call is on disk.
// light says the caller's work is all the server has to do: the sync may
// then keep its processor while it waits for the disk (rawsync_linux.go)
// rather than hand it back, which costs more than the wait in a quiet
// server. With one processor it always hands it back.
func (s *walSync) sync(light bool) error {
	raw := light && runtime.GOMAXPROCS(0) > 1
	s.mu.Lock()
	r := s.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		s.next = r
	}
	r.calls++
	for s.running != nil {
		cur := s.running
		s.mu.Unlock()
		<-cur.done
		s.mu.Lock()
		if r.finished {
			s.mu.Unlock()
			return r.err
		}
	}
	s.running, s.next = r, nil
	s.rounds++
	s.mu.Unlock()

	for _, f := range s.files {
		if r.err = f.sync(raw); r.err != nil {
			break
		}
	}

	s.mu.Lock()
	r.finished, s.running = true, nil
	s.mu.Unlock()
	close(r.done)
	return r.err
}

// syncs reports the syncs run, for tests.
func (s *walSync) syncs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rounds
}

func (s *walSync) close() {
	if s == nil {
		return
	}
	for _, f := range s.files {
		_ = f.f.Close()
	}
}
