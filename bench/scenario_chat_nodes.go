package bench

// nodeDeliveries fills each node's share of a chat run's deliveries: the
// messages due to the members on that node, and what they received. The
// run's totals are counted as with one server; this says on which node
// the misses were (a node that does not get a room's messages from the
// others shows as that node's loss).
func (cr *chatRun) nodeDeliveries(rep *Report) {
	if !cr.e.multiNode() || len(rep.Nodes) != len(cr.e.nodes) {
		return
	}
	idx := make(map[*node]int, len(cr.e.nodes))
	for i, n := range cr.e.nodes {
		idx[n] = i
	}
	per := make([]deliveryCounts, len(cr.e.nodes))
	expected := make([]int64, len(cr.e.nodes))
	for r, ms := range cr.members {
		sent := cr.sentRoom[r].Load()
		for _, m := range ms {
			i, ok := idx[m.rcv.nd]
			if !ok {
				continue
			}
			expected[i] += sent
			per[i].add(m.rcv.tr.counts)
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

// setDeliveries sets the node's delivery figures.
func (n *NodeStats) setDeliveries(expected int64, c deliveryCounts) {
	n.Expected, n.Received = expected, c.Unique
	n.Lost = max(expected-c.Unique, 0)
	n.Duplicates, n.OutOfOrder = c.Duplicates, c.OutOfOrder
}
