package bench

import (
	"context"
	"errors"
	"time"
)

// writeWait bounds one frame write.
const writeWait = 5 * time.Second

// schedule is a sender's rate over time: from msgs/s at the start to
// to msgs/s at over, linearly (a fixed rate when to <= from).
type schedule struct {
	from, to float64
	over     time.Duration
}

// rate returns the rate elapsed into the run.
func (s schedule) rate(elapsed time.Duration) float64 {
	if s.to <= s.from || s.over <= 0 {
		return s.from
	}
	f := min(max(elapsed.Seconds()/s.over.Seconds(), 0), 1)
	return s.from + f*(s.to-s.from)
}

// ramps reports whether the rate changes over time.
func (s schedule) ramps() bool { return s.to > s.from && s.over > 0 }

// interval turns a rate into a ticker period (at most 1 per minute, at
// least 1 µs).
func interval(rate float64) time.Duration {
	if rate <= 0 {
		return time.Minute
	}
	return max(time.Duration(float64(time.Second)/rate), time.Microsecond)
}

// sender paces one socket's messages with its own ticker: one message per
// tick, never a burst, so the send rate is what the schedule says (ticks
// the sender cannot keep up with are dropped by the ticker, and the
// achieved rate in the report shows it).
type sender struct {
	conn   *wsock
	id     int // global sender index
	runID  string
	size   int
	sched  schedule
	offset time.Duration // spreads senders' first ticks over one period
	onSent func()
	onErr  func(err error)
	// next is the number of the next message: a run in two phases
	// continues the numbers, so a receiver sees no duplicate.
	next int64
	// post, when set, sends a message instead of conn (REST posts).
	post func(p payload) error
	// typing sends chat.typing midway between two messages, while
	// "composing" the next, at most once per typingEvery; onTyping
	// counts each.
	typing   bool
	onTyping func()
}

// run sends until stopAt or ctx ends or a write fails.
func (s *sender) run(ctx context.Context, start, stopAt time.Time) {
	select {
	case <-time.After(s.offset):
	case <-ctx.Done():
		return
	}
	period := interval(s.sched.rate(time.Since(start)))
	tick := time.NewTicker(period)
	defer tick.Stop()
	var reRate <-chan time.Time
	if s.sched.ramps() {
		rt := time.NewTicker(time.Second)
		defer rt.Stop()
		reRate = rt.C
	}
	stop := time.NewTimer(time.Until(stopAt))
	defer stop.Stop()
	compose := time.NewTimer(time.Hour)
	compose.Stop()
	defer compose.Stop()
	var lastTyping time.Time
	buf := make([]byte, 0, s.size+128)
	for first := true; s.next < maxPerSender; {
		if !first { // the first at once, the rest on ticks
			select {
			case <-ctx.Done():
				return
			case <-stop.C:
				return
			case <-reRate:
				if p := interval(s.sched.rate(time.Since(start))); p != period {
					period = p
					tick.Reset(p)
				}
				continue
			case <-compose.C:
				if time.Since(lastTyping) >= typingEvery {
					lastTyping = time.Now()
					if err := s.conn.write([]byte(`{"type":"chat.typing","typing":true}`)); err != nil {
						s.onErr(err)
						return
					}
					s.onTyping()
				}
				continue
			case <-tick.C:
			}
		}
		first = false
		if err := s.send(buf, s.next); errors.Is(err, errNotSent) {
			s.next++ // the server refused it: its number is not reused
			continue
		} else if err != nil {
			s.onErr(err)
			return
		}
		s.onSent()
		s.next++
		if s.typing {
			compose.Reset(period / 2)
		}
	}
}

// send writes message n.
func (s *sender) send(buf []byte, n int64) error {
	p := payload{sender: s.id, n: n, sent: time.Now().UnixNano()}
	if s.post != nil {
		return s.post(p)
	}
	buf = appendSendFrame(buf[:0], s.runID, p, s.size)
	return s.conn.write(buf)
}
