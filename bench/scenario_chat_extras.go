package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// settleWait ends each phase of a run with extras, after its last delivery:
// receipts go out at most once a second per room, so the frames a phase
// caused reach the sockets, and the server's CPU for them is counted, in
// the phase that caused them. Both phases wait the same.
const settleWait = 1200 * time.Millisecond

// sendPhases runs the load twice, back to back on the same sockets: first
// plain, then with typing indicators and read receipts as configured, and
// returns what the second costs the server per delivery over the first.
func (cr *chatRun) sendPhases(ctx context.Context, ph *phase) *ExtrasStats {
	cfg := cr.e.cfg
	x := &ExtrasStats{Typing: cfg.Typing, Read: cfg.Read, ReadEveryMs: round3(float64(cfg.ReadEvery) / float64(time.Millisecond))}
	cpuKnown := true
	for _, with := range []bool{false, true} {
		st := &x.Plain
		if with {
			st = &x.With
		}
		rec := newRecorder(time.Now(), 2*runtime.GOMAXPROCS(0))
		cr.phaseRec.Store(rec)
		cr.typingOn = with && cfg.Typing
		cr.ex.readOn.Store(with && cfg.Read)
		sent0, recv0 := cr.e.c.sent.Load(), cr.e.c.received.Load()
		cpu0, ok0 := ph.serverCPU()
		t0 := time.Now()
		cr.sendAll(ctx, t0)
		st.SendSec = round3(time.Since(t0).Seconds())
		cr.drain(ctx, cr.expected())
		select {
		case <-time.After(settleWait):
		case <-ctx.Done():
		}
		cr.ex.readOn.Store(false)
		cpu1, ok1 := ph.serverCPU()
		st.ElapsedSec = round3(time.Since(t0).Seconds())
		st.Sent = cr.e.c.sent.Load() - sent0
		st.Deliveries = cr.e.c.received.Load() - recv0
		if st.ElapsedSec > 0 {
			st.DeliveriesPerSec = round3(float64(st.Deliveries) / st.ElapsedSec)
		}
		h, _ := rec.merge()
		st.Latency = statsOf(h)
		cpuKnown = cpuKnown && ok0 && ok1
		if ok0 && ok1 {
			st.LoadCPUSeconds = round3((cpu1 - cpu0).Seconds())
			if st.Deliveries > 0 {
				st.CPUMsPer1kDeliveries = round3(1e6 * (cpu1 - cpu0).Seconds() / float64(st.Deliveries))
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	cr.phaseRec.Store(nil)
	if cpuKnown && x.Plain.CPUMsPer1kDeliveries > 0 && x.With.CPUMsPer1kDeliveries > 0 {
		x.ExtraCPUMsPer1kDeliveries = round3(x.With.CPUMsPer1kDeliveries - x.Plain.CPUMsPer1kDeliveries)
		x.ExtraPct = round3(100 * x.ExtraCPUMsPer1kDeliveries / x.Plain.CPUMsPer1kDeliveries)
	}
	return x
}

// finish copies the frame counts into x once every socket is closed.
func (ex *extras) finish(x *ExtrasStats) {
	x.TypingSent = ex.typingSent.Load()
	x.TypingReceived = ex.typingRecv.Load()
	x.ReadsSent = ex.readsSent.Load()
	x.ReadSendErrors = ex.readSendErrs.Load()
	x.ReceiptsReceived = ex.receiptsRecv.Load()
	x.ErrorsReceived = ex.errorsRecv.Load()
	if x.With.Deliveries > 0 {
		x.TypingPer1kDeliveries = round3(1000 * float64(x.TypingReceived) / float64(x.With.Deliveries))
		x.ReceiptsPer1kDeliveries = round3(1000 * float64(x.ReceiptsReceived) / float64(x.With.Deliveries))
	}
}

// notes say in words when the extras did not do what they should.
func (x *ExtrasStats) notes() []string {
	var n []string
	if x.ErrorsReceived > 0 {
		n = append(n, fmt.Sprintf("%d chat.error frames received: a server without typing indicators or read markers "+
			"answers each chat.typing and chat.read with one (and a public room's non-member each chat.read)", x.ErrorsReceived))
	}
	if x.TypingSent > 0 && x.TypingReceived == 0 {
		n = append(n, "chat.typing was sent but none was received: does the server broadcast typing to events=typing sockets?")
	}
	if x.ReadsSent > 0 && x.ReceiptsReceived == 0 {
		n = append(n, "chat.read was sent but no receipt was received: does the server send receipts to events=read sockets?")
	}
	return n
}
