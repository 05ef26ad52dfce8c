package persistence

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/skl"
)

// DefaultMemoryBudget is the store's share of memory when Config.MemoryBudget
// is zero: half of the server's default 512 MiB budget.
const DefaultMemoryBudget = 256 << 20

// MinMemoryBudget is the smallest store budget accepted: below it Badger's
// memtables become too small to hold a useful transaction.
const MinMemoryBudget = 16 << 20

// The store's budget is divided in eighths: memtables 2, index cache 1,
// records 1 (three quarters the record cache, one the client_id memory),
// compactions 2, and 2 for the pages of Badger's files mapped from disk
// (memtable logs and tables), which count in the process's RSS as much as
// its heap does.
const (
	memtableEighths   = 2
	indexCacheEighths = 1
	recordEighths     = 1
	compactionEighths = 2
	mappedEighths     = 2
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

// numCompactors is Badger's NumCompactors, its least: two compactions at
// once (one of them for level 0) instead of Badger's four.
const numCompactors = 2

// buildersPerCompaction is how many tables a compaction may hold in memory
// at once: Badger builds each range of a compaction (up to 6) on its own
// goroutine, and together with the finished tables waiting for their write
// to disk they are at most 8 more than the ranges.
const buildersPerCompaction = 16

// builderPercent is what a table in the making holds over its size: Badger
// allocates twice the table's size up front (and the Go runtime clears it,
// touching every page, when it reuses the memory).
const builderPercent = 200

// Badger's tables are at least minTableSize and at most its default 2 MiB.
const (
	minTableSize = 128 << 10
	maxTableSize = 2 << 20
)

// memoryPlan is how a store budget is divided.
type memoryPlan struct {
	budget       int64
	memTableSize int64
	indexCache   int64
	records      int64
	clientIDs    int64 // the client_id memory: a quarter of the records' share
	// compaction is what Badger's compactions hold in memory: the tables
	// they build, tableSize each at the base level.
	compaction int64
	tableSize  int64
	// mapped is how much of Badger's files may stay resident through
	// their memory maps; the tables' pages past it are given back.
	mapped int64
}

func planMemory(budget int64) memoryPlan {
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	budget = max(budget, MinMemoryBudget)
	eighth := budget / 8
	p := memoryPlan{
		budget:       budget,
		memTableSize: memtableEighths * eighth * 100 / (memtablesAtMost * arenaPercent),
		indexCache:   indexCacheEighths * eighth,
		records:      recordEighths * eighth * 3 / 4,
		clientIDs:    recordEighths * eighth / 4,
		compaction:   compactionEighths * eighth,
		mapped:       mappedEighths * eighth,
	}
	p.tableSize = p.compaction * 100 / (numCompactors * buildersPerCompaction * builderPercent)
	p.tableSize = min(max(p.tableSize, minTableSize), maxTableSize)
	return p
}

// MappedShare is how much of a store budget goes to the pages of Badger's
// files mapped from disk. The Go runtime's memory limit leaves it out.
func MappedShare(budget int64) int64 { return planMemory(budget).mapped }

// maxValueThreshold keeps every value inside the LSM tree (Badger's own
// maximum): chat messages are at most a few KiB, and a value in the LSM tree
// is read with its key, without a second read from the value log.
const maxValueThreshold = 1 << 20

// badgerOptions applies the plan to Badger's options. Everything Badger
// holds in memory is bounded by it: memtables by their size and count,
// compactions by their number and the size of the tables they build, and
// table indexes and bloom filters by the index cache (with no index cache
// Badger keeps every table's index in memory, which grows with the data).
//
// Tables are not compressed: a table being built holds each block twice,
// as written and compressed, until the table is on disk, so compressed
// tables of chat text (3 times smaller) held several times their size in
// memory, across up to buildersPerCompaction tables per compaction. Without
// compression a table in the making holds its own size, and Badger reads
// blocks straight from the mapped tables, so it needs no block cache.
func (p memoryPlan) badgerOptions(opts badger.Options) badger.Options {
	opts = opts.
		WithMemTableSize(p.memTableSize).
		WithNumMemtables(numMemtables).
		WithNumCompactors(numCompactors).
		WithBaseTableSize(p.tableSize).
		WithCompression(options.None).
		WithBlockCacheSize(0).
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
	// TableSize is the size of the tables compactions write to the base
	// level, which bounds what they hold in memory.
	TableSize int64
	// MappedMax is how much of Badger's files may stay resident through
	// their memory maps, and MappedUsed how much was, last measured (each
	// second; zero in memory). MappedTrims counts the times the tables'
	// pages were given back to keep within MappedMax.
	MappedMax, MappedUsed, MappedTrims int64
	// IndexCacheMax and IndexCacheUsed are the same for table indexes and
	// bloom filters.
	IndexCacheMax, IndexCacheUsed int64
	// RecordCacheMax and RecordCacheUsed are the decoded users and rooms;
	// Used counts what was cached since the cache last started over, so
	// it may exceed what an evicted user leaves behind.
	RecordCacheMax, RecordCacheUsed int64
	// ClientIDsMax and ClientIDsUsed are the hashes of the client_ids of
	// the rooms in use (clientIDBytes each).
	ClientIDsMax, ClientIDsUsed int64
	// LSMBytes and ValueLogBytes are the database's size on disk.
	LSMBytes, ValueLogBytes int64
}

// CacheStats reports the store's memory use against its budget.
func (s *Store) CacheStats() CacheStats {
	st := CacheStats{
		Budget:          s.plan.budget,
		MemTableSize:    s.plan.memTableSize,
		MemTablesMax:    memtablesAtMost,
		TableSize:       s.plan.tableSize,
		MappedMax:       s.plan.mapped,
		RecordCacheMax:  s.cache.maxBytes,
		RecordCacheUsed: s.cache.size.Load(),
		ClientIDsMax:    s.plan.clientIDs,
		ClientIDsUsed:   s.clientIDs.bytes(),
	}
	if s.mapped != nil {
		st.MappedUsed, st.MappedTrims = s.mapped.resident.Load(), s.mapped.trims.Load()
	}
	if c, err := s.db.CacheMaxCost(badger.IndexCache, -1); err == nil {
		st.IndexCacheMax = c
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
