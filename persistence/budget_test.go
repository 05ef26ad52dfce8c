package persistence

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"livechat/persistence/pb"
)

// A small budget (the store's half of a 64 MiB server budget) reaches the
// Badger that Open starts: the memtables, index cache, records, the tables
// compactions build and the mapped files' share add up to no more than the
// budget.
func TestMemoryBudgetSizesBadger(t *testing.T) {
	const budget = 32 << 20
	s, err := Open(Config{Dir: t.TempDir(), MemoryBudget: budget, Logger: discardLog})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })

	opts := s.db.Opts()
	if opts.NumMemtables != numMemtables {
		t.Errorf("NumMemtables %d, want %d", opts.NumMemtables, numMemtables)
	}
	indexCache, err := s.db.CacheMaxCost(badger.IndexCache, -1)
	if err != nil {
		t.Fatal(err)
	}
	if indexCache == 0 {
		t.Fatalf("index cache %d: must be bounded, non-zero", indexCache)
	}
	memtables := int64(memtablesAtMost) * opts.MemTableSize * arenaPercent / 100
	builders := int64(opts.NumCompactors*buildersPerCompaction) * opts.BaseTableSize * builderPercent / 100
	st := s.CacheStats()
	total := memtables + indexCache + st.RecordCacheMax + builders + st.MappedMax
	t.Logf("memtable %d KiB (%d at most), index cache %d KiB, records %d KiB, compactions %d KiB, mapped %d KiB: %d of %d KiB",
		opts.MemTableSize>>10, memtablesAtMost, indexCache>>10, st.RecordCacheMax>>10, builders>>10, st.MappedMax>>10, total>>10, budget>>10)
	if total > budget {
		t.Errorf("memtables, caches, records, compactions and mapped files take %d bytes, over the %d budget", total, budget)
	}
	if opts.MemTableSize >= 64<<20/8 {
		t.Errorf("memtable %d: Badger's default (64 MiB) was not replaced", opts.MemTableSize)
	}
	if st.Budget != budget || st.IndexCacheMax != indexCache || st.MemTableSize != opts.MemTableSize || st.TableSize != opts.BaseTableSize {
		t.Errorf("CacheStats %+v disagrees with Badger's options", st)
	}
	if opts.ValueThreshold > opts.MemTableSize*15/100 {
		t.Errorf("value threshold %d does not fit a batch of a %d memtable", opts.ValueThreshold, opts.MemTableSize)
	}
}

// What a compaction holds in memory comes from the budget: two compactors
// instead of Badger's four, tables sized so that every table they may
// build at once fits the compaction share, and no compression, so that a
// table in the making holds its own size (a compressed one holds each block
// twice, several times the table's size for chat text). For a 64 MiB
// server (32 MiB store) and the default.
func TestMemoryBudgetBoundsCompaction(t *testing.T) {
	for _, tc := range []struct {
		budget    int64
		tableSize int64
		mapped    int64
	}{
		{32 << 20, 128 << 10, 8 << 20},
		{DefaultMemoryBudget, 1 << 20, 64 << 20},
	} {
		p := planMemory(tc.budget)
		opts := p.badgerOptions(badger.DefaultOptions(""))
		if opts.NumCompactors != 2 {
			t.Errorf("budget %d: NumCompactors %d, want 2", tc.budget, opts.NumCompactors)
		}
		if opts.Compression != options.None || opts.BlockCacheSize != 0 {
			t.Errorf("budget %d: compression %v, block cache %d; want none and none", tc.budget, opts.Compression, opts.BlockCacheSize)
		}
		if opts.BaseTableSize != tc.tableSize {
			t.Errorf("budget %d: BaseTableSize %d, want %d", tc.budget, opts.BaseTableSize, tc.tableSize)
		}
		if builders := int64(opts.NumCompactors*buildersPerCompaction) * opts.BaseTableSize * builderPercent / 100; builders > p.compaction {
			t.Errorf("budget %d: compactions may hold %d bytes, over their share %d", tc.budget, builders, p.compaction)
		}
		if got := MappedShare(tc.budget); got != tc.mapped || got != p.mapped {
			t.Errorf("budget %d: mapped share %d (plan %d), want %d", tc.budget, got, p.mapped, tc.mapped)
		}
	}
}

// With the smallest budget, a backlog of messages far larger than one
// Badger transaction allows is split into transactions that fit: every
// message is stored, none fails with ErrTxnTooBig.
func TestWriterBatchesFitSmallMemtable(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), MemoryBudget: MinMemoryBudget, Durability: DurabilityOS, Logger: discardLog})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	w := newTestWriter(t, s, WriterConfig{})

	const n = 2000
	text := strings.Repeat("가", 700) // 2,100 bytes: n of them are 4 MB, many times Badger's limit
	var wg sync.WaitGroup
	errs := make(chan error, n)
	wg.Add(n)
	for seq := int64(1); seq <= n; seq++ {
		m := msg(s, 1, seq)
		m.Text, m.ClientId = text, fmt.Sprintf("c%d", seq)
		w.Append([]*pb.Message{m}, func(err error) { errs <- err; wg.Done() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	got, err := s.MessagesAfter(1, 0, n)
	if err != nil || len(got) != n {
		t.Fatalf("stored %d messages (%v), want %d", len(got), err, n)
	}

	// The same backlog taken in one go stays under Badger's limits.
	w.mu.Lock()
	defer w.mu.Unlock()
	queue := make([]appendReq, n)
	for i := range queue {
		queue[i] = appendReq{recs: []Record{{Message: got[i]}}, vals: [][]byte{[]byte(text)}}
	}
	w.queue = queue
	batch, _ := w.take(nil)
	size := int64(0)
	for i := range batch {
		size += batch[i].size()
	}
	if maxSize := s.db.Opts().MemTableSize * 15 / 100; size >= maxSize || len(batch) >= n {
		t.Fatalf("one batch of %d messages, %d bytes; Badger takes less than %d", len(batch), size, maxSize)
	}
	w.queue = nil
}

// A database left by a crash with larger memtables than the budget now
// allows (an upgrade from Badger's defaults, or a lowered budget) opens:
// Badger replays each memtable log into a memtable of the current size and
// stops the process when it does not fit, so Open first replays it at the
// size it was written with.
func TestOpenAfterCrashWithLargerMemtables(t *testing.T) {
	dir := t.TempDir()
	big, err := Open(Config{Dir: dir, MemoryBudget: DefaultMemoryBudget, Durability: DurabilityOS, Logger: discardLog})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	w := big.NewWriter(WriterConfig{})
	const n = 2000 // 2 MB: twice what the smallest budget's memtable holds
	text := strings.Repeat("x", 1000)
	for seq := int64(1); seq <= n; seq += 100 {
		msgs := make([]*pb.Message, 0, 100)
		for i := range int64(100) {
			m := msg(big, 1, seq+i)
			m.Text = text
			msgs = append(msgs, m)
		}
		appendWait(t, w, msgs...)
	}
	// The crash: copy the files of the running database, memtable log included.
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	w.Close()
	closeStore(t, big)

	s, err := Open(Config{Dir: crashed, MemoryBudget: MinMemoryBudget, Logger: discardLog})
	if err != nil {
		t.Fatalf("open after crash: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if got := s.db.Opts().MemTableSize; got != planMemory(MinMemoryBudget).memTableSize {
		t.Errorf("memtable %d after recovery, want the budget's %d", got, planMemory(MinMemoryBudget).memTableSize)
	}
	got, err := s.MessagesAfter(1, 0, n)
	if err != nil || len(got) != n {
		t.Fatalf("%d messages after the crash (%v), want %d", len(got), err, n)
	}
}

// copyDir copies the files of a database, keeping holes: Badger's logs are
// sparse files of hundreds of MB that hold a few.
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "LOCK" {
			copySparse(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
		}
	}
}

func copySparse(t testing.TB, from, to string) {
	t.Helper()
	const seekData, seekHole = 3, 4 // lseek(2) on Linux
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for off := int64(0); off < info.Size(); {
		data, err := src.Seek(off, seekData)
		if err != nil { // no data after off
			break
		}
		hole, err := src.Seek(data, seekHole)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Seek(data, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Seek(data, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(dst, src, hole-data); err != nil {
			t.Fatal(err)
		}
		off = hole
	}
	if err := dst.Truncate(info.Size()); err != nil {
		t.Fatal(err)
	}
}
