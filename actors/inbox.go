package actors

import (
	"strconv"
	"sync"
)

// inboxes is the registry of open inbox sockets, by user: rooms reach
// their members' inbox sockets through it. A room looks its members up
// on every message, so a lookup takes no lock (sync.Map is read-mostly:
// sockets open and close far less often than messages arrive).
type inboxes struct {
	users sync.Map // user id → *inboxUser
}

// inboxUser is one user's open inbox sockets.
type inboxUser struct {
	mu    sync.Mutex
	sinks []Sink
	gone  bool // removed from the registry with its last socket
}

// add registers sink as one of user's inbox sockets.
func (in *inboxes) add(user int64, sink Sink) {
	for {
		v, _ := in.users.LoadOrStore(user, &inboxUser{})
		u := v.(*inboxUser)
		u.mu.Lock()
		if u.gone {
			u.mu.Unlock()
			continue // removed with its last socket meanwhile
		}
		u.sinks = append(u.sinks, sink)
		u.mu.Unlock()
		return
	}
}

// remove unregisters sink; the user's entry goes with its last socket.
func (in *inboxes) remove(user int64, sink Sink) {
	v, ok := in.users.Load(user)
	if !ok {
		return
	}
	u := v.(*inboxUser)
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, s := range u.sinks {
		if s == sink {
			last := len(u.sinks) - 1
			u.sinks[i] = u.sinks[last]
			u.sinks[last] = nil
			u.sinks = u.sinks[:last]
			break
		}
	}
	if len(u.sinks) == 0 {
		u.sinks, u.gone = nil, true
		in.users.CompareAndDelete(user, u)
	}
}

// empty reports that no inbox socket is open (a hint: one may open at
// once).
func (in *inboxes) empty() bool {
	empty := true
	in.users.Range(func(any, any) bool { empty = false; return false })
	return empty
}

// lookup returns user's inbox sockets, nil when the user has none.
func (in *inboxes) lookup(user int64) *inboxUser {
	v, ok := in.users.Load(user)
	if !ok {
		return nil
	}
	return v.(*inboxUser)
}

// send hands frame to every inbox socket of user.
func (in *inboxes) send(user int64, frame []byte) {
	if u := in.lookup(user); u != nil {
		u.send(frame)
	}
}

// send hands frame to each of the user's sockets. Sink.Send never blocks,
// so it runs under the user's lock.
func (u *inboxUser) send(frame []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.sinks {
		s.Send(frame)
	}
}

// sinks returns a copy of user's inbox sockets.
func (in *inboxes) sinks(user int64) []Sink {
	v, ok := in.users.Load(user)
	if !ok {
		return nil
	}
	u := v.(*inboxUser)
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Sink(nil), u.sinks...)
}

// OpenInbox registers sink as an inbox socket of user: it receives the
// inbox frames of every room the user is a member of until the returned
// function is called (once, when the socket has closed).
func (e *Engine) OpenInbox(user int64, sink Sink) (closeInbox func()) {
	e.inboxes.add(user, sink)
	var once sync.Once
	return func() { once.Do(func() { e.inboxes.remove(user, sink) }) }
}

// InboxSinks returns user's open inbox sockets, for frames built at the
// edge (inbox.room.add carries a room as the REST API shows it).
func (e *Engine) InboxSinks(user int64) []Sink { return e.inboxes.sinks(user) }

// SendInbox hands frame to every inbox socket of user.
func (e *Engine) SendInbox(user int64, frame []byte) { e.inboxes.send(user, frame) }

// OnMemberAdded sets fn, called with each membership a room stores (a
// user added, joining, or joining by posting) once it is durable and
// before the room applies it, on a goroutine that may block. The edge
// uses it to send inbox.room.add, which carries the room as the REST API
// shows it.
func (e *Engine) OnMemberAdded(fn func(room, user int64)) { e.onMemberAdded.Store(&fn) }

func (e *Engine) memberAdded(room, user int64) {
	if fn := e.onMemberAdded.Load(); fn != nil {
		(*fn)(room, user)
	}
}

// InboxRoomRemoveFrame encodes inbox.room.remove: the user's membership of
// room ended.
func InboxRoomRemoveFrame(room int64) []byte {
	b := append(make([]byte, 0, 48), `{"type":"inbox.room.remove","room":`...)
	b = strconv.AppendInt(b, room, 10)
	return append(b, '}')
}
