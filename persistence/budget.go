package persistence

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"
)

// DefaultMemoryBudget is the store's share of memory when Config.MemoryBudget
// is zero: half of the server's default 512 MiB budget.
const DefaultMemoryBudget = 256 << 20

// MinMemoryBudget is the smallest store budget accepted: below it Badger's
// memtables become too small to hold a useful transaction.
const MinMemoryBudget = 16 << 20

// The store's budget is divided in eighths: memtables 2, block cache 3,
// index cache 1, record cache 1, and 1 left for what Badger allocates
// outside them (compaction's table builders, iterators, the write channel).
// The block cache gets the largest share because history pages and room
// loads read recent messages back from the newest tables.
const (
	memtableEighths   = 2
	blockCacheEighths = 3
	indexCacheEighths = 1
	recordEighths     = 1
)

// numMemtables is Badger's NumMemtables: how many full memtables may wait
// for their flush before writes stall. Two is enough to absorb a burst
// while one flushes; Badger's default of five only multiplies the worst case.
const numMemtables = 2

// memtablesAtMost is how many memtable arenas can be alive at once: the
// mutable one, numMemtables queued for flushing, and the one being flushed.
const memtablesAtMost = numMemtables + 2

// arenaPercent is a memtable's arena over its MemTableSize: Badger
// allocates MemTableSize plus 15% for the largest batch plus as much again
// for that batch's skiplist nodes, all at creation.
const arenaPercent = 130

// memoryPlan is how a store budget is divided.
type memoryPlan struct {
	budget       int64
	memTableSize int64
	blockCache   int64
	indexCache   int64
	records      int64
}

func planMemory(budget int64) memoryPlan {
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	budget = max(budget, MinMemoryBudget)
	eighth := budget / 8
	return memoryPlan{
		budget:       budget,
		memTableSize: memtableEighths * eighth * 100 / (memtablesAtMost * arenaPercent),
		blockCache:   blockCacheEighths * eighth,
		indexCache:   indexCacheEighths * eighth,
		records:      recordEighths * eighth,
	}
}

// maxValueThreshold keeps every value inside the LSM tree (Badger's own
// maximum): chat messages are at most a few KiB, and a value in the LSM tree
// is read with its key, without a second read from the value log.
const maxValueThreshold = 1 << 20

// badgerOptions applies the plan to Badger's options. Everything Badger
// holds in memory is bounded by it: memtables by their size and count,
// decompressed blocks by the block cache, and table indexes and bloom
// filters by the index cache (with no index cache Badger keeps every
// table's index in memory, which grows with the data).
func (p memoryPlan) badgerOptions(opts badger.Options) badger.Options {
	opts = opts.
		WithMemTableSize(p.memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(p.blockCache).
		WithIndexCacheSize(p.indexCache)
	// A value must fit in one batch, which Badger caps at 15% of a memtable;
	// larger ones go to the value log.
	opts = opts.WithValueThreshold(min(maxValueThreshold, p.memTableSize/10))
	// The value log is written through a memory map of twice its file size;
	// a file no larger than the budget keeps what a burst of large values
	// can make resident bounded by it.
	opts = opts.WithValueLogFileSize(min(opts.ValueLogFileSize, max(p.budget, 1<<20)))
	return opts
}

// maxBatchBytes is how many bytes of messages the writer puts in one
// transaction: two thirds of Badger's limit (15% of a memtable), leaving
// room for its per-entry overhead.
func (p memoryPlan) maxBatchBytes() int64 { return p.memTableSize / 10 }

// CacheStats is what the store holds in memory, for metrics. Sizes are
// bytes; "used" figures are the caches' own accounting, approximate.
type CacheStats struct {
	// Budget is the store's share of the memory budget.
	Budget int64
	// MemTableSize is one memtable's size; MemTablesMax the most that can
	// be in memory at once (each allocates 1.3 times its size).
	MemTableSize int64
	MemTablesMax int
	// BlockCacheMax and BlockCacheUsed are the block cache's capacity and
	// the cost it holds.
	BlockCacheMax, BlockCacheUsed int64
	// IndexCacheMax and IndexCacheUsed are the same for table indexes and
	// bloom filters.
	IndexCacheMax, IndexCacheUsed int64
	// RecordCacheMax and RecordCacheUsed are the decoded users and rooms;
	// Used counts what was cached since the cache last started over, so
	// it may exceed what an evicted user leaves behind.
	RecordCacheMax, RecordCacheUsed int64
	// LSMBytes and ValueLogBytes are the database's size on disk.
	LSMBytes, ValueLogBytes int64
}

// CacheStats reports the store's memory use against its budget.
func (s *Store) CacheStats() CacheStats {
	st := CacheStats{
		Budget:          s.plan.budget,
		MemTableSize:    s.plan.memTableSize,
		MemTablesMax:    memtablesAtMost,
		RecordCacheMax:  s.cache.maxBytes,
		RecordCacheUsed: s.cache.size.Load(),
	}
	if c, err := s.db.CacheMaxCost(badger.BlockCache, -1); err == nil {
		st.BlockCacheMax = c
	}
	if c, err := s.db.CacheMaxCost(badger.IndexCache, -1); err == nil {
		st.IndexCacheMax = c
	}
	if m := s.db.BlockCacheMetrics(); m != nil {
		st.BlockCacheUsed = int64(m.CostAdded()) - int64(m.CostEvicted())
	}
	if m := s.db.IndexCacheMetrics(); m != nil {
		st.IndexCacheUsed = int64(m.CostAdded()) - int64(m.CostEvicted())
	}
	st.LSMBytes, st.ValueLogBytes = s.db.Size()
	return st
}

// maxBatchEntries is how many entries the writer puts in one transaction:
// two thirds of Badger's limit, which is a batch's bytes over the size of a
// skiplist node.
func (p memoryPlan) maxBatchEntries() int { return int(p.maxBatchBytes() / int64(skl.MaxNodeSize)) }

// replayLargerMemtables makes a database opened with opts safe to open
// when a crash left memtable logs written with larger memtables (Badger's
// defaults before the budget, or a budget since lowered): Badger replays
// each log into a memtable of the current size and stops the process when
// it does not fit. Such logs are replayed first with memtables large enough,
// then closed, which flushes them to tables. A log Badger made with the
// current size is twice that size (its memory map); anything else is
// replayed the safe way, with memtables twice the log's size.
func replayLargerMemtables(opts badger.Options) error {
	if opts.InMemory {
		return nil
	}
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("persistence: read data directory: %w", err)
	}
	need := int64(0)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("persistence: memtable log: %w", err)
		}
		if size := info.Size(); size != 2*opts.MemTableSize {
			need = max(need, 2*size)
		}
	}
	if need <= opts.MemTableSize {
		return nil
	}
	db, err := badger.Open(opts.WithMemTableSize(need))
	if err != nil {
		return fmt.Errorf("open badger to replay %s memtables: %w", filepath.Base(opts.Dir), err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close badger after replaying memtables: %w", err)
	}
	return nil
}
