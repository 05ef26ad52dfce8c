package persistence

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// mappedInterval is how often the resident pages of Badger's files are
// measured.
const mappedInterval = time.Second

// Badger reads and writes its tables through memory maps: a table written
// by a flush or a compaction, and one a compaction or a long history read
// went through, stays resident in the process's RSS until the kernel needs
// the memory, and over hours that is the whole database. mapped keeps what
// Badger's files hold resident within the plan's mapped share: when they
// pass it, it asks the kernel to reclaim the tables' pages (the memory
// maps stay; a page read again is read from disk). The memtable logs, which
// writes fill, are left alone and counted.
type mapped struct {
	dir string // absolute, symbolic links resolved, as /proc shows it
	max int64
	log *slog.Logger

	resident atomic.Int64 // Badger's files' resident bytes, last measured
	trims    atomic.Int64 // times the tables' pages were given back

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// mappedFiles is where Badger's files are mapped, and how much of them is
// resident.
type mappedFiles struct {
	resident       int64 // all of Badger's files
	tablesResident int64 // the tables
	tables         []mapping
}

type mapping struct{ start, end uintptr }

func newMapped(dir string, max int64, log *slog.Logger) *mapped {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	m := &mapped{dir: dir, max: max, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	if !canReclaim {
		close(m.done)
		return m
	}
	go m.loop()
	return m
}

func (m *mapped) loop() {
	defer close(m.done)
	t := time.NewTicker(mappedInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if err := m.check(); err != nil {
				m.log.Error("measure mapped files", "err", err)
				return
			}
		}
	}
}

func (m *mapped) close() {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
}

// check measures Badger's files' resident pages and gives the tables' back
// when they pass the share. The process's file-backed RSS, read first, is
// an upper bound that spares reading every mapping's figures while it is
// below the share.
func (m *mapped) check() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	if fileRSS, ok := statusBytes(status, "RssFile:"); ok && fileRSS <= m.max {
		m.resident.Store(fileRSS)
		return nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return err
	}
	files, err := readMapped(f, m.dir)
	_ = f.Close()
	if err != nil {
		return err
	}
	m.resident.Store(files.resident)
	if files.resident <= m.max {
		return nil
	}
	for _, t := range files.tables {
		reclaim(t)
	}
	m.trims.Add(1)
	return nil
}

// readMapped sums the resident bytes of the mappings of files in dir, from
// /proc/PID/smaps, and lists the tables' mappings.
func readMapped(r io.Reader, dir string) (mappedFiles, error) {
	var out mappedFiles
	prefix := dir + string(filepath.Separator)
	in, table := false, false // the current mapping is one of dir's files, a table
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !bytes.HasSuffix(fields[0], []byte(":")) {
			// A mapping's header: start-end perms offset dev inode [path].
			in, table = false, false
			if len(fields) < 6 {
				continue
			}
			path := string(bytes.Join(fields[5:], []byte(" ")))
			if !strings.HasPrefix(path, prefix) || strings.Contains(path[len(prefix):], string(filepath.Separator)) {
				continue
			}
			in = true
			if strings.HasSuffix(path, ".sst") {
				if t, ok := parseRange(fields[0]); ok {
					out.tables = append(out.tables, t)
					table = true
				}
			}
			continue
		}
		if in && string(fields[0]) == "Rss:" {
			if n, ok := kilobytes(fields[1:]); ok {
				out.resident += n
				if table {
					out.tablesResident += n
				}
			}
		}
	}
	return out, sc.Err()
}

func parseRange(b []byte) (mapping, bool) {
	lo, hi, ok := bytes.Cut(b, []byte("-"))
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapping{}, false
	}
	return mapping{uintptr(start), uintptr(end)}, true
}

// statusBytes returns a "Name:  123 kB" line of /proc/PID/status in bytes.
func statusBytes(status []byte, name string) (int64, bool) {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte(name)); ok {
			return kilobytes(bytes.Fields(rest))
		}
	}
	return 0, false
}

func kilobytes(f [][]byte) (int64, bool) {
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0, false
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	return n << 10, err == nil
}
