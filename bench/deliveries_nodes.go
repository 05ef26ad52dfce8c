package bench

// share is one socket's part of a run's deliveries: the node it is open
// to, what it was due and what it received.
type share struct {
	nd       *node
	expected int64
	counts   deliveryCounts
}

// nodeDeliveries fills each node's share of a run's deliveries from the
// sockets' shares: what the sockets on that node were due and received.
// The run's totals are counted as with one server; this says on which
// node the misses were (a node that does not get a room's messages from
// the others shows as that node's loss).
func (e *environment) nodeDeliveries(rep *Report, shares []share) {
	if !e.multiNode() || len(rep.Nodes) != len(e.nodes) {
		return
	}
	idx := make(map[*node]int, len(e.nodes))
	for i, n := range e.nodes {
		idx[n] = i
	}
	per := make([]deliveryCounts, len(e.nodes))
	expected := make([]int64, len(e.nodes))
	for _, s := range shares {
		if i, ok := idx[s.nd]; ok {
			expected[i] += s.expected
			per[i].add(s.counts)
		}
	}
	var allExpected int64
	var all deliveryCounts
	for i := range rep.Nodes {
		rep.Nodes[i].setDeliveries(expected[i], per[i])
		allExpected += expected[i]
		all.add(per[i])
	}
	if rep.NodesTotal != nil {
		rep.NodesTotal.setDeliveries(allExpected, all)
	}
}

// shares lists the chat run's sockets' shares: each member is due every
// message sent in its room.
func (cr *chatRun) shares() []share {
	var out []share
	for r, ms := range cr.members {
		sent := cr.sentRoom[r].Load()
		for _, m := range ms {
			out = append(out, share{nd: m.rcv.nd, expected: sent, counts: m.rcv.tr.counts})
		}
	}
	return out
}

// shares lists the inbox run's sockets' shares: a room socket is due
// every message of its room, an inbox socket every message of its
// user's rooms.
func (ir *inboxRun) shares() []share {
	var out []share
	for j, ms := range ir.roomSocks {
		for _, m := range ms {
			out = append(out, share{nd: m.rcv.nd, expected: ir.sentRoom[j].Load(), counts: m.rcv.counts()})
		}
	}
	for u, m := range ir.inboxes {
		if m == nil {
			continue
		}
		var due int64
		for _, j := range ir.l.userRooms[u] {
			due += ir.sentRoom[j].Load()
		}
		out = append(out, share{nd: m.rcv.nd, expected: due, counts: m.rcv.counts()})
	}
	return out
}

// setDeliveries sets the node's delivery figures.
func (n *NodeStats) setDeliveries(expected int64, c deliveryCounts) {
	n.Expected, n.Received = expected, c.Unique
	n.Lost = max(expected-c.Unique, 0)
	n.Duplicates, n.OutOfOrder = c.Duplicates, c.OutOfOrder
}
