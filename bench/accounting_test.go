package bench

import "testing"

func TestTrackerCountsLossDupsOrder(t *testing.T) {
	tr := newTracker(1, 2) // room 1, senders 2 and 3
	obs := func(sender int, n int64) observation { return tr.observe(payload{sender: sender, n: n}) }
	for n := range int64(5) {
		if got := obs(2, n); got != obsFresh {
			t.Fatalf("first (2,%d) = %v", n, got)
		}
	}
	if obs(2, 3) != obsDuplicate {
		t.Fatal("duplicate not detected")
	}
	obs(3, 0)
	obs(3, 2)
	obs(3, 1) // late: out of order, still a fresh delivery
	if obs(0, 0) != obsForeign || obs(3, maxPerSender) != obsForeign {
		t.Fatal("foreign sender not detected")
	}
	want := deliveryCounts{Unique: 8, Duplicates: 1, OutOfOrder: 1, Foreign: 2}
	if tr.counts != want {
		t.Fatalf("counts %+v, want %+v", tr.counts, want)
	}
}

func TestTrackerSeq(t *testing.T) {
	tr := newTracker(0, 1)
	for _, s := range []int64{1, 2, 3, 5, 6, 6, 4, 7} {
		tr.observeSeq(s)
	}
	if tr.counts.SeqGaps != 1 || tr.counts.SeqRegressions != 2 {
		t.Fatalf("counts %+v", tr.counts)
	}
	tr2 := newTracker(0, 1)
	tr2.observeSeq(3) // joined a fresh room: 1 and 2 were missed
	if tr2.counts.SeqGaps != 2 {
		t.Fatalf("counts %+v", tr2.counts)
	}
}

func TestDeliveryCountsAdd(t *testing.T) {
	a := deliveryCounts{Unique: 1, Duplicates: 2, OutOfOrder: 3, Foreign: 4, Unparsed: 5, Malformed: 6, SeqGaps: 7, SeqRegressions: 8}
	var sum deliveryCounts
	sum.add(a)
	sum.add(a)
	if sum.Unique != 2 || sum.SeqRegressions != 16 || sum.Malformed != 12 {
		t.Fatalf("sum %+v", sum)
	}
}

// TestReceiverHandle runs frames through a receiver's accounting.
func TestReceiverHandle(t *testing.T) {
	var c counters
	rec := newRecorder(nowForTest(), 1)
	r := &receiver{tr: newTracker(0, 1), rec: rec, c: &c}
	warm := 0
	r.onWarm = func() { warm++ }
	frame := func(seq int64, msg string) []byte {
		return []byte(`{"type":"chat.message","message":"` + msg + `","seq":` + itoa(seq) + `}`)
	}
	sent := nowForTest().UnixNano()
	r.handle(frame(1, warmPrefix+"x"), nowForTest())
	r.handle(frame(2, string(appendPayload(nil, payload{0, 0, sent}, 60))), nowForTest())
	r.handle(frame(3, string(appendPayload(nil, payload{0, 0, sent}, 60))), nowForTest())
	r.handle(frame(4, "hello from a person"), nowForTest())
	r.handle([]byte(`{"type":"chat.user.join","username":"x"}`), nowForTest())
	r.handle([]byte(`not json`), nowForTest())
	if warm != 1 || c.received.Load() != 1 || c.duplicates.Load() != 1 {
		t.Fatalf("warm %d received %d dups %d", warm, c.received.Load(), c.duplicates.Load())
	}
	want := deliveryCounts{Unique: 1, Duplicates: 1, Unparsed: 1, Malformed: 1}
	if r.tr.counts != want {
		t.Fatalf("counts %+v, want %+v", r.tr.counts, want)
	}
	if total, _ := rec.merge(); total.TotalCount() != 1 {
		t.Fatalf("latencies recorded: %d", total.TotalCount())
	}
}
