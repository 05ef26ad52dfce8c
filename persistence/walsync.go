package persistence

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
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
// (NNNNN.mem) and the current value log (NNNNNN.vlog). A write is answered
// only after its bytes are on disk, and a read sees only synced writes
// (Store.view).
//
// Badger names each new file one past the last, and deletes a memtable's
// file once the memtable is flushed to a table (which it syncs). When
// Badger created a file since the last sync (walDir: inotify on Linux;
// elsewhere, every sync), the sync lists the directory and moves to the
// newest file of each kind, after a last sync of the one it followed and
// of every file between that is still there: Badger, not syncing writes,
// does not sync a file it leaves.
//
// Concurrent calls share syncs (group commit): a call waits for the sync
// in progress, which may have begun before its write was committed, and
// one sync then covers every call that waited. A sync that fails fails
// every later one, and every write and read of the store after it
// (ErrSyncFailed): the kernel may have dropped the pages it could not
// write, and a later sync that succeeds would not bring them back.
type walSync struct {
	dir   walDir
	files []*walFile // the value log's, then the memtable's (walKinds)

	mu      sync.Mutex
	running *syncRound // the sync in progress, nil when none
	next    *syncRound // the sync the calls arriving now wait for
	failed  error      // set by the first sync that failed, or by close
	rounds  int        // syncs run, for tests
	hold    func()     // tests: called as a sync begins
	// slow says the last sync took longer than rawSyncMax: the next is
	// ordinary whatever the caller says. Only the sync in progress uses it.
	slow bool
}

// rawSyncMax is the longest a sync may have taken for the next to be a raw
// system call. A raw call's processor runs nothing else meanwhile, and
// the runtime's stop-the-world phases wait for it: a disk that stalls (a
// frozen filesystem during a snapshot, a failing device) must not stall
// the whole server more than once. A sync here takes 0.2-0.4 ms.
const rawSyncMax = 2 * time.Millisecond

// syncRound is one sync shared by every call that joined it.
type syncRound struct {
	done     chan struct{}
	calls    int  // calls served; under walSync.mu
	finished bool // under walSync.mu
	err      error
}

// walFile is one of the files Badger appends to.
type walFile struct {
	ext   string
	width int // digits of the number in the name
	fid   int
	f     *os.File
}

// walKinds are the files Badger appends to, in the order they are synced:
// the value log first, as Badger does, so that a memtable entry pointing
// into it is never on disk before what it points to.
var walKinds = []walFile{{ext: ".vlog", width: 6}, {ext: ".mem", width: 5}}

// Indexes of walSync.files.
const (
	walVlog = iota
	walMem
)

// errStoreClosed is what a sync after Close returns.
var errStoreClosed = errors.New("persistence: store closed")

// newWALSync follows the newest memtable and value log files in dir, which
// Badger has just opened for writing.
func newWALSync(dir string) (*walSync, error) {
	d, err := openWALDir(dir)
	if err != nil {
		return nil, fmt.Errorf("persistence: follow Badger's files: %w", err)
	}
	s := &walSync{dir: d}
	for _, k := range walKinds {
		s.files = append(s.files, &walFile{ext: k.ext, width: k.width, fid: -1})
	}
	if err := s.follow(false); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// sync returns once every write committed before the call is on disk.
// light says the caller's work is all the server has to do: the sync may
// then keep its processor while it waits for the disk (rawsync_linux.go)
// rather than hand it back, which costs more than the wait in a quiet
// server. With one processor, as a quiet server runs (cmd/livechat's
// --procs), that holds every goroutine for the sync's 0.2-0.4 ms; handing
// the processor over would wake another thread to run them and one more
// to take it back.
func (s *walSync) sync(light bool) error {
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return s.failed
	}
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
	if s.failed != nil { // closed, or the round before failed
		r.err, r.finished, s.next = s.failed, true, nil
		s.mu.Unlock()
		close(r.done)
		return r.err
	}
	s.running, s.next = r, nil
	s.rounds++
	s.mu.Unlock()

	if r.err = s.syncFiles(light); r.err != nil && !errors.Is(r.err, ErrSyncFailed) {
		r.err = fmt.Errorf("%w: %w", ErrSyncFailed, r.err)
	}

	s.mu.Lock()
	var lost *syncError
	if errors.As(r.err, &lost) && s.failed == nil {
		s.failed = fmt.Errorf("%w: %v", ErrSyncFailed, r.err)
	}
	r.finished, s.running = true, nil
	s.mu.Unlock()
	close(r.done)
	return r.err
}

// syncError is a sync the kernel refused: what it was to write may be
// lost, so every later sync fails too. Other errors (listing the
// directory, opening a file) fail their own sync only.
type syncError struct {
	path string
	err  error
}

func (e *syncError) Error() string { return "sync " + e.path + ": " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

// syncOpen is fdatasync of f, its failure a *syncError.
func syncOpen(f *os.File, raw bool) error {
	if err := fdatasync(f, raw); err != nil {
		return &syncError{f.Name(), err}
	}
	return nil
}

// syncFiles syncs what Badger wrote, first moving to its newest files if
// the directory changed. Only the round in progress calls it.
func (s *walSync) syncFiles(raw bool) error {
	raw = raw && !s.slow
	began := time.Now()
	defer func() { s.slow = time.Since(began) > rawSyncMax }()
	if s.hold != nil {
		s.hold()
	}
	if s.dir.changed() {
		if err := s.follow(raw); err != nil {
			return err
		}
	}
	for _, w := range s.files {
		if w.f == nil {
			continue
		}
		if err := syncOpen(w.f, raw); err != nil {
			return err
		}
	}
	return nil
}

// follow lists the directory and moves each kind of file to its newest,
// syncing the files left behind. A file deleted meanwhile was a memtable
// flushed to a table, which Badger synced.
func (s *walSync) follow(raw bool) error {
	entries, err := s.dir.list()
	if err != nil {
		return fmt.Errorf("persistence: list Badger's files: %w", err)
	}
	moved := false
	for _, w := range s.files {
		var fids []int
		for _, name := range entries {
			if num, ok := strings.CutSuffix(name, w.ext); ok {
				if fid, err := strconv.Atoi(num); err == nil && fid > w.fid {
					fids = append(fids, fid)
				}
			}
		}
		if len(fids) == 0 {
			continue
		}
		if m, err := w.moveTo(s.dir.f.Name(), fids, raw); err != nil {
			return err
		} else if m {
			moved = true
		}
	}
	if moved {
		// Badger does not sync the directory when it creates a file: a
		// file synced under a name that is not is lost with the name.
		if err := syncOpen(s.dir.f, false); err != nil {
			return err
		}
	}
	return nil
}

// moveTo syncs the file followed and every file of fids (all newer) but
// the newest, which it follows from then on. It reports whether it moved.
func (w *walFile) moveTo(dir string, fids []int, raw bool) (bool, error) {
	newest := fids[0]
	for _, fid := range fids {
		newest = max(newest, fid)
	}
	f, err := os.Open(w.path(dir, newest))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // flushed already; a newer file changed the directory again
	}
	if err != nil {
		return false, fmt.Errorf("persistence: follow Badger's files: %w", err)
	}
	if w.f != nil {
		if err := syncOpen(w.f, raw); err != nil {
			_ = f.Close()
			return false, err
		}
	}
	for _, fid := range fids {
		if fid == newest {
			continue
		}
		if err := syncFile(w.path(dir, fid), raw); err != nil {
			_ = f.Close()
			return false, err
		}
	}
	if w.f != nil {
		_ = w.f.Close()
	}
	w.f, w.fid = f, newest
	return true, nil
}

// path is the file of this kind numbered fid in dir, as Badger names it.
func (w *walFile) path(dir string, fid int) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d%s", w.width, fid, w.ext))
}

// syncFile syncs the file at path if it still exists.
func syncFile(path string, raw bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("persistence: follow Badger's files: %w", err)
	}
	defer f.Close()
	return syncOpen(f, raw)
}

// list names the directory's entries.
func (d *walDir) list() ([]string, error) {
	names, err := d.f.Readdirnames(-1)
	if _, serr := d.f.Seek(0, 0); err == nil {
		err = serr
	}
	return names, err
}

// broken is the error of the first sync that failed, nil before one did.
func (s *walSync) broken() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(s.failed, errStoreClosed) {
		return nil
	}
	return s.failed
}

// syncs reports the syncs run, for tests.
func (s *walSync) syncs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rounds
}

// close waits for the sync in progress and closes the files; later syncs
// fail.
func (s *walSync) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	for s.running != nil {
		cur := s.running
		s.mu.Unlock()
		<-cur.done
		s.mu.Lock()
	}
	if s.failed == nil {
		s.failed = errStoreClosed
	}
	s.mu.Unlock()
	s.closeFiles()
}

func (s *walSync) closeFiles() {
	for _, w := range s.files {
		if w.f != nil {
			_ = w.f.Close()
		}
	}
	s.dir.close()
}
