package actors

import (
	"strconv"
	"sync"
	"sync/atomic"

	"livechat/persistence/pb"
)

// Senders is a snapshot of the users who hide their email: a message of
// theirs shows "user-<id>" as its sender, whenever it is rendered, so the
// switch applies to stored messages too. A snapshot never changes; each
// change makes a new one with a higher generation, so a frame or object
// rendered from one snapshot can tell whether it is still current. A nil
// *Senders hides no one.
type Senders struct {
	gen    uint64
	hidden map[int64]struct{}
}

// Sender is what a message shows as its sender: the email it was sent
// with, or "user-<id>" when its sender hides their email. "user-<id>" has
// no @, so it can never equal a real email.
func (s *Senders) Sender(m *pb.Message) string {
	if s != nil {
		if _, ok := s.hidden[m.SenderId]; ok {
			return "user-" + strconv.FormatInt(m.SenderId, 10)
		}
	}
	return m.SenderEmail
}

// Gen is the snapshot's generation: 0 for a nil one.
func (s *Senders) Gen() uint64 {
	if s == nil {
		return 0
	}
	return s.gen
}

// senderBook holds the current snapshot. Reads are one atomic load (every
// rendered message reads it); a change copies the set, which is small
// beside the accounts and changes only when a user flips the switch.
type senderBook struct {
	mu  sync.Mutex // serializes changes
	cur atomic.Pointer[Senders]
}

func newSenderBook(hidden []int64) *senderBook {
	b := &senderBook{}
	s := &Senders{gen: 1, hidden: make(map[int64]struct{}, len(hidden))}
	for _, id := range hidden {
		s.hidden[id] = struct{}{}
	}
	b.cur.Store(s)
	return b
}

func (b *senderBook) load() *Senders { return b.cur.Load() }

// set records whether user hides their email; read is called under the
// book's lock to learn it, so that concurrent changes of one user are
// applied in the order their reads see them.
func (b *senderBook) set(user int64, read func() (bool, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	hide, err := read()
	if err != nil {
		return err
	}
	old := b.cur.Load()
	if _, was := old.hidden[user]; was == hide {
		return nil
	}
	s := &Senders{gen: old.gen + 1, hidden: make(map[int64]struct{}, len(old.hidden)+1)}
	for id := range old.hidden {
		s.hidden[id] = struct{}{}
	}
	if hide {
		s.hidden[user] = struct{}{}
	} else {
		delete(s.hidden, user)
	}
	b.cur.Store(s)
	return nil
}

// Senders returns the current snapshot of the users who hide their email,
// for rendering messages (MessageFrame, AppendMessage).
func (e *Engine) Senders() *Senders { return e.senders.load() }
