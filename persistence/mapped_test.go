package persistence

import (
	"os"
	"strings"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// Tables Badger wrote and read through their memory maps stay resident in
// the process until the store gives their pages back: past the mapped
// share, the next check leaves them all on disk, and they still read back.
func TestMappedTablesGivenBack(t *testing.T) {
	if !canReclaim {
		t.Skip("reclaiming mapped pages needs Linux")
	}
	s, err := Open(Config{Dir: t.TempDir(), MemoryBudget: MinMemoryBudget, Durability: DurabilityOS, Logger: discardLog})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	w := newTestWriter(t, s, WriterConfig{})

	// Twice the mapped share of messages: flushed to tables, then compacted.
	text := strings.Repeat("x", 2000)
	n := int(2 * s.plan.mapped / int64(len(text)))
	done := make(chan error, n)
	for seq := 1; seq <= n; seq++ {
		m := msg(s, 1, int64(seq))
		m.Text = text
		w.Append([]*pb.Message{m}, func(err error) { done <- err })
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	tables := func() mappedFiles {
		f, err := os.Open("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files, err := readMapped(f, s.mapped.dir)
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	// Reading every message back makes the tables resident, whatever was
	// given back meanwhile.
	var before mappedFiles
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.MessagesAfter(1, 0, n)
		if err != nil || len(got) != n {
			t.Fatalf("read back %d messages (%v), want %d", len(got), err, n)
		}
		if before = tables(); before.tablesResident > s.plan.mapped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tables' resident bytes %d (%d tables), want over the mapped share %d", before.tablesResident, len(before.tables), s.plan.mapped)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A compaction still running reads tables back in as it goes, so the
	// store's checks, a second apart in a running server, are made here a
	// few times, for up to 5 s, until the tables sit below the share and
	// half of before.
	trims := s.mapped.trims.Load()
	var after mappedFiles
	want := min(before.tablesResident/2, s.plan.mapped)
	deadline = time.Now().Add(5 * time.Second)
	for {
		if err := s.mapped.check(); err != nil {
			t.Fatal(err)
		}
		if after = tables(); after.tablesResident <= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d tables: %d KiB resident, %d KiB after the checks (mapped share %d KiB)", len(before.tables), before.tablesResident>>10, after.tablesResident>>10, s.plan.mapped>>10)
	if after.tablesResident > want || s.mapped.trims.Load() == trims {
		t.Errorf("tables' resident bytes %d before the checks, %d after (%d trims): want them given back, at most %d", before.tablesResident, after.tablesResident, s.mapped.trims.Load()-trims, want)
	}
	if got, err := s.MessagesAfter(1, 0, n); err != nil || len(got) != n || got[n-1].Text != text {
		t.Fatalf("after the check, read back %d messages (%v), want %d", len(got), err, n)
	}
	if st := s.CacheStats(); st.MappedMax != s.plan.mapped || st.MappedUsed == 0 {
		t.Errorf("CacheStats mapped %d of %d, want the share and a measure", st.MappedUsed, st.MappedMax)
	}
}
