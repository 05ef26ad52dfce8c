package cluster

// RouteTraffic is what this node's embedded NATS server sent to and
// received from the other nodes, over every route: log replication and
// its acknowledgements, consumer deliveries of the log, the rooms' events
// and the cluster's internal traffic. It is what crosses between nodes.
type RouteTraffic struct {
	MsgsOut, BytesOut, MsgsIn, BytesIn int64
}

// RouteTraffic reads this node's route counters now; ok is false with an
// external NATS (the traffic is between NATS servers this node does not
// run). A route's counters start from zero when it reconnects, so the
// sums can go down after a node's restart.
func (n *Node) RouteTraffic() (t RouteTraffic, ok bool) {
	if n.server == nil {
		return t, false
	}
	rz, err := n.server.Routez(nil)
	if err != nil {
		return t, false
	}
	for _, r := range rz.Routes {
		t.MsgsOut += r.OutMsgs
		t.BytesOut += r.OutBytes
		t.MsgsIn += r.InMsgs
		t.BytesIn += r.InBytes
	}
	return t, true
}
