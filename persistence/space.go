package persistence

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// Badger writes through memory-mapped files: its write-ahead logs
// (*.mem), tables (*.sst) and value logs (*.vlog) are created sparse and
// filled through the mapping, so a write that finds the volume full is not
// an error it can return but a SIGBUS that kills the process. LiveChat
// therefore never lets the volume get that full: it keeps a reserve of free
// bytes and refuses writes (ErrStorageFull) before they would eat into it.
//
// What is left free must cover what Badger writes on its own, without any
// new data:
//   - flushing every memtable to a table: about as many bytes as its
//     write-ahead log holds. This is counted as it happens: the logs'
//     allocated bytes are measured and every admitted byte counts twice
//     (once in the log now, once in its table later);
//   - compacting level 0 into the base level: new tables as large as the
//     inputs are written before the inputs are deleted. That is the reserve.

// AutoReserve is the reserve kept when Config.StorageReserve is 0: room for
// the largest compaction Badger starts on its own, all of level 0
// (NumLevelZeroTables tables of up to MemTableSize) into a full base level,
// plus a margin for the files a restart creates. With Badger's default
// sizes (64 MiB memtables, 5 level-0 tables, 10 MiB base level) it is 331 MiB.
func AutoReserve(opts badger.Options) int64 {
	return int64(opts.NumLevelZeroTables)*opts.MemTableSize + opts.BaseLevelSize + openMargin
}

// openMargin is what opening the database read-write may write besides
// flushing its logs: the lock file, a new write-ahead log's and value log's
// first page, the manifest's records.
const openMargin = 1 << 20

// spaceInterval is how often free space is measured, so that writes resume
// by themselves soon after space is freed.
const spaceInterval = time.Second

// space keeps the reserve on the data volume. headroom is free bytes minus
// the reserve minus what pending flushes need; admitted writes take from it
// between measurements, which set it to the truth again.
type space struct {
	dir      string
	reserve  int64
	readOnly bool // opened read-only on a full volume: writes never resume
	log      *slog.Logger

	headroom atomic.Int64
	measured atomic.Int64 // UnixNano of the last measurement
	full     atomic.Bool  // refusing writes, until headroom is back above resumeMargin

	mu       sync.Mutex // serializes measurements
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newSpace(dir string, reserve int64, readOnly bool, log *slog.Logger) (*space, error) {
	sp := &space{dir: dir, reserve: reserve, readOnly: readOnly, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	if err := sp.measure(); err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && int64(st.Blocks)*int64(st.Bsize) < reserve+resumeMargin {
		log.Warn("the data volume is smaller than the storage reserve: every write will be refused; lower --storage-reserve or use a larger volume",
			"dir", dir, "volume_bytes", int64(st.Blocks)*int64(st.Bsize), "reserve_bytes", reserve)
	}
	go sp.loop()
	return sp, nil
}

func (sp *space) loop() {
	defer close(sp.done)
	t := time.NewTicker(spaceInterval)
	defer t.Stop()
	for {
		select {
		case <-sp.stop:
			return
		case <-t.C:
			if err := sp.measure(); err != nil {
				sp.log.Error("measure free space", "dir", sp.dir, "err", err)
			}
		}
	}
}

func (sp *space) close() {
	sp.stopOnce.Do(func() { close(sp.stop) })
	<-sp.done
}

// measure sets headroom from the volume's free bytes and the write-ahead
// logs' allocated bytes, and tightens the modes of files Badger created
// since the last measurement.
func (sp *space) measure() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.measureLocked()
}

func (sp *space) measureLocked() error {
	free, err := freeBytes(sp.dir)
	if err != nil {
		return err
	}
	logs, err := walkData(sp.dir)
	if err != nil {
		return err
	}
	h := free - logs - sp.reserve
	sp.headroom.Store(h)
	sp.measured.Store(time.Now().UnixNano())
	switch {
	case sp.readOnly || h < 0:
		sp.setFull(true)
	case h >= resumeMargin:
		sp.setFull(false)
	}
	return nil
}

// resumeMargin is how far above the reserve free space must be for
// refused writes to resume, so that a volume at the edge does not flap
// between full and not full with every message.
const resumeMargin = 1 << 20

// setFull records the state and logs its changes. headroom is what is
// free beyond the reserve and the unflushed logs' needs.
func (sp *space) setFull(full bool) {
	if sp.full.Swap(full) == full {
		return
	}
	if full {
		sp.log.Warn("storage full: refusing writes", "dir", sp.dir, "headroom_bytes", sp.headroom.Load(), "reserve_bytes", sp.reserve, "read_only", sp.readOnly)
	} else {
		sp.log.Info("storage has room again: accepting writes", "dir", sp.dir, "headroom_bytes", sp.headroom.Load())
	}
}

// admit takes n bytes (twice: log now, table later) from the headroom, or
// refuses with ErrStorageFull and marks the volume full. With measure, the
// headroom is measured again first when the last measurement is over
// 100 ms old (so that a volume filled by something else is noticed before
// the next write, not up to a second later) and again before a refusal
// (so that it rests on the volume, not on an estimate). Without, admit
// does no I/O and never waits: actors call it. A nil space (in memory)
// admits everything.
func (sp *space) admit(n int64, measure bool) error {
	if sp == nil {
		return nil
	}
	if measure {
		sp.measureIfOlder(100 * time.Millisecond)
	}
	if sp.full.Load() {
		return ErrStorageFull
	}
	if sp.headroom.Add(-2*n) >= 0 {
		return nil
	}
	sp.headroom.Add(2 * n)
	if measure && sp.measureIfOlder(10*time.Millisecond) && !sp.full.Load() {
		if sp.headroom.Add(-2*n) >= 0 {
			return nil
		}
		sp.headroom.Add(2 * n)
	}
	// Once one write is refused, all are, until measurements find the
	// margin again: small writes do not slip in where large ones failed.
	sp.setFull(true)
	return ErrStorageFull
}

// measureIfOlder measures when the last measurement is older than age and
// no other is under way (a caller never waits for another's); it reports
// whether it measured.
func (sp *space) measureIfOlder(age time.Duration) bool {
	if time.Now().UnixNano()-sp.measured.Load() <= int64(age) || !sp.mu.TryLock() {
		return false
	}
	defer sp.mu.Unlock()
	if err := sp.measureLocked(); err != nil {
		sp.log.Error("measure free space", "dir", sp.dir, "err", err)
		return false
	}
	return true
}

// writable reports whether writes are accepted now.
func (sp *space) writable() error {
	if sp == nil {
		return nil
	}
	if sp.full.Load() {
		return ErrStorageFull
	}
	return nil
}

// floor is the writer's check before each batch: its messages were
// admitted one by one, so only a volume that something else filled far
// into the reserve stops a batch.
func (sp *space) floor() error {
	if sp == nil {
		return nil
	}
	if sp.readOnly || sp.headroom.Load() < -sp.reserve/2 {
		return ErrStorageFull
	}
	return nil
}

// freeBytes is what an unprivileged process may still allocate on dir's volume.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// walkData returns the bytes allocated to write-ahead logs (what flushing
// them will need) and makes every file in dir private (mode 0600): Badger
// creates its files 0666 less the umask.
func walkData(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read data dir: %w", err)
	}
	var logs int64
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if os.IsNotExist(err) {
			continue // removed meanwhile (a flushed log, a compacted table)
		}
		if err != nil {
			return 0, err
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil && !os.IsNotExist(err) {
				return 0, fmt.Errorf("make data file private: %w", err)
			}
		}
		if strings.HasSuffix(e.Name(), ".mem") {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				logs += st.Blocks * 512 // allocated, not the sparse length
			}
		}
	}
	return logs, nil
}

// prepareDir creates dir private (0700), makes an existing one and its
// files private, and returns the bytes its write-ahead logs hold (left by
// the last run: a killed process, since a clean close flushes them) and
// the volume's free bytes.
func prepareDir(dir string) (logs, free int64, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, 0, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return 0, 0, fmt.Errorf("make data dir private: %w", err)
	}
	if logs, err = walkData(dir); err != nil {
		return 0, 0, err
	}
	if free, err = freeBytes(dir); err != nil {
		return 0, 0, err
	}
	return logs, free, nil
}
