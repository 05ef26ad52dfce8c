package cluster

import (
	"strconv"

	"github.com/nats-io/nats.go"
)

// Bus carries rooms' ephemeral events (actors.Bus) between the nodes on
// core NATS: one subject per room, lc.ev.<room>, subscribed by each node
// while it runs the room, so an event crosses once to each node that
// serves the room. At most once: a node that misses one catches up from
// the next heartbeat.
type Bus struct{ node *Node }

// Bus returns the node's event bus.
func (n *Node) Bus() *Bus { return &Bus{node: n} }

func roomSubject(room int64) string { return "lc.ev." + strconv.FormatInt(room, 10) }

// Publish implements actors.Bus.
func (b *Bus) Publish(room int64, event []byte) {
	// An error is a closed or disconnected connection: the event is
	// ephemeral, and presence heals from the next heartbeat.
	_ = b.node.conn.Publish(roomSubject(room), event)
}

// Subscribe implements actors.Bus.
func (b *Bus) Subscribe(room int64, deliver func(event []byte)) (cancel func()) {
	sub, err := b.node.conn.Subscribe(roomSubject(room), func(m *nats.Msg) { deliver(m.Data) })
	if err != nil {
		return func() {}
	}
	return func() { _ = sub.Unsubscribe() }
}
