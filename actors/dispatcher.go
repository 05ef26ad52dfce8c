package actors

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// mailboxWorkers is the dispatcher of every LiveChat actor: it runs a
// mailbox that has messages on one of a few long-lived goroutines, where
// the actor library's default starts a goroutine per run. A new goroutine
// starts with the runtime's average stack, which idle sockets keep small
// (api's reader parks on a 2 KiB stack), so a run that needs more grows
// and copies its stack every time; a worker keeps its grown stack from run
// to run. A run that finds no worker waiting gets a goroutine of its own
// as before, so a mailbox never waits for a worker, and one that blocks
// holds up nothing else.
type mailboxWorkers struct {
	work    chan func() // unbuffered: a send succeeds only into a waiting worker
	done    chan struct{}
	running atomic.Int32 // workers started and not stopped
}

// maxMailboxWorkers bounds the workers kept: mailbox runs are short, so
// few run at once; past this many a run gets its own goroutine.
const maxMailboxWorkers = 64

// mailboxThroughput is how many messages a mailbox processes before it
// lets other goroutines run, the actor library's default.
const mailboxThroughput = 300

var _ actor.Dispatcher = (*mailboxWorkers)(nil)

func newMailboxWorkers() *mailboxWorkers {
	return &mailboxWorkers{work: make(chan func()), done: make(chan struct{})}
}

func (w *mailboxWorkers) Schedule(run func()) {
	select {
	case w.work <- run:
		return
	default:
	}
	if w.running.Add(1) <= maxMailboxWorkers {
		go w.loop(run)
		return
	}
	w.running.Add(-1)
	go run()
}

func (w *mailboxWorkers) Throughput() int { return mailboxThroughput }

// loop runs run, then every run handed to it, until stop.
func (w *mailboxWorkers) loop(run func()) {
	for {
		run()
		select {
		case run = <-w.work:
		case <-w.done:
			w.running.Add(-1)
			return
		}
	}
}

// stop ends the waiting workers, and each busy one when its run ends.
func (w *mailboxWorkers) stop() { close(w.done) }
