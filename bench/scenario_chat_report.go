package bench

import (
	"fmt"
	"time"
)

// report fills the message figures of a finished chat run.
func (cr *chatRun) report(rep *Report, expected int64, sendTime, deliverTime time.Duration) {
	cfg := cr.e.cfg
	var counts deliveryCounts
	for _, ms := range cr.members {
		for _, m := range ms {
			counts.add(m.rcv.tr.counts)
		}
	}
	total, perSec := cr.rec.merge()
	sent := cr.e.c.sent.Load()
	m := &MessageStats{
		Sent:           sent,
		SendErrors:     cr.sendErrs.snapshot(),
		TargetRate:     cfg.Rate * float64(len(cr.rooms)*cfg.Senders),
		TargetRateMax:  cfg.RateMax * float64(len(cr.rooms)*cfg.Senders),
		Expected:       expected,
		Received:       counts.Unique,
		Lost:           max(expected-counts.Unique, 0),
		deliveryCounts: counts,
		Latency:        statsOf(total),
	}
	if s := sendTime.Seconds(); s > 0 {
		m.SendRate = round3(float64(sent) / s)
	}
	if s := deliverTime.Seconds(); s > 0 {
		m.DeliveriesPerSec = round3(float64(counts.Unique) / s)
	}
	if expected > 0 {
		m.LossPct = round3(100 * float64(m.Lost) / float64(expected))
	}
	rep.Messages = m
	rep.LatencyTimeline = perSec
	rep.Distribution = distribution(total)
	rep.Conns.Dropped = cr.e.c.dropped.Load()
	rep.Conns.DropReasons = cr.drops.snapshot()
	if counts.Unique > expected {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d more deliveries than expected: a message whose send failed was delivered anyway", counts.Unique-expected))
	}
	if n := rep.Conns.DropReasons["closed 1008"]; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the server closed %d sockets with 1008 (policy): invalid frames, or pings over "+
			"serve --client-ping-rate? Messages written after the close count as sent and lost", n))
	}
	if n := rep.Conns.DropReasons["closed 4008"]; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the server closed %d sockets with 4008 (slow consumer): the generator "+
			"could not read fast enough; see its CPU", n))
	}
	if m.Lost > 0 && rep.Conns.Dropped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d sockets were dropped mid-run; their missing deliveries count as lost", rep.Conns.Dropped))
	}
}
