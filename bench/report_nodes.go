package bench

import "fmt"

// NodeStats is one node's part of a run against several nodes: the
// sockets the generator held on it and, when its pid is known, what it
// cost that node's process. NodesTotal in the report adds them up.
type NodeStats struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	PID  int    `json:"pid,omitempty"`
	// SocketsOK and SocketsFailed count opens to the node; SocketsHeld
	// is how many were open once the run's sockets were all opened
	// (capacity: while holding; chat and inbox: after the warm-up);
	// Dropped counts those the server or the network closed mid-run.
	SocketsOK     int64 `json:"sockets_ok"`
	SocketsFailed int64 `json:"sockets_failed"`
	SocketsHeld   int64 `json:"sockets_held"`
	Dropped       int64 `json:"dropped"`
	// Expected, Received, Lost, Duplicates and OutOfOrder are the
	// deliveries due to the sockets on this node (chat scenarios: room
	// sockets; inbox: room and inbox sockets together) and what they
	// received; the run's totals are in messages and inbox.
	Expected   int64 `json:"expected,omitempty"`
	Received   int64 `json:"received,omitempty"`
	Lost       int64 `json:"lost,omitempty"`
	Duplicates int64 `json:"duplicates,omitempty"`
	OutOfOrder int64 `json:"out_of_order,omitempty"`
	// The node's process, from /proc: RSS at the start of the load, with
	// the sockets held, at its peak and at the end; RSSPerSocketBytes is
	// its whole RSS with the sockets held divided by them (what a socket
	// costs a node, its fixed base included), GrowthPerSocketBytes the
	// RSS growth from the start divided by them.
	RSSStartMB           float64 `json:"rss_start_mb,omitempty"`
	RSSHeldMB            float64 `json:"rss_held_mb,omitempty"`
	RSSPeakMB            float64 `json:"rss_peak_mb,omitempty"`
	RSSEndMB             float64 `json:"rss_end_mb,omitempty"`
	RSSPerSocketBytes    float64 `json:"rss_per_socket_bytes,omitempty"`
	GrowthPerSocketBytes float64 `json:"growth_per_socket_bytes,omitempty"`
	CPUSeconds           float64 `json:"cpu_s,omitempty"`
	CPUPct               float64 `json:"cpu_pct,omitempty"`
	FDsStart             int     `json:"fds_start,omitempty"`
	FDsHeld              int     `json:"fds_held,omitempty"`
	FDsEnd               int     `json:"fds_end,omitempty"`
	MaxOpenFiles         int64   `json:"max_open_files,omitempty"`
	// Sampled says the node's process was read; Died that it could not
	// be read at the end (its figures stop at its last sample).
	Sampled bool `json:"sampled"`
	Died    bool `json:"died,omitempty"`

	// what add sums for the totals' per-socket figures
	heldSockets         int64
	heldRSS, heldGrowth float64
}

// nodesReport fills the per-node section of a run against several nodes
// from the end samples each (by node; zero where unread).
func (p *phase) nodesReport(rep *Report, each []procSample) {
	e := p.e
	if !e.multiNode() {
		return
	}
	counts := e.nodeCounts()
	total := &NodeStats{Name: "all nodes"}
	for i, n := range e.nodes {
		ns := NodeStats{Name: n.Name, URL: n.URL, PID: n.PID, SocketsOK: counts[i].OK,
			SocketsFailed: counts[i].Failed, Dropped: counts[i].Dropped}
		if p.held != nil {
			ns.SocketsHeld = p.held.counts[i].Live
		}
		p.nodeServer(&ns, i, each)
		if ns.PID > 0 && !ns.Sampled {
			rep.Notes = append(rep.Notes, fmt.Sprintf("node %s's process (pid %d) could not be read at the start: "+
				"no figures for it, and no server totals (a sum over some nodes would pass for all)", n.Name, n.PID))
		}
		total.add(ns)
		rep.Nodes = append(rep.Nodes, ns)
		if ns.MaxOpenFiles > 0 && ns.SocketsOK+int64(fdReserve) >= ns.MaxOpenFiles {
			rep.Notes = append(rep.Notes, fmt.Sprintf("node %s's open files limit (%d), not memory, capped its sockets (%d opened): "+
				"raise its RLIMIT_NOFILE or spread over more nodes", n.Name, ns.MaxOpenFiles, ns.SocketsOK))
		}
	}
	total.perSocket()
	rep.NodesTotal = total
}

// nodeServer fills node i's process figures, when its pid was read at
// the start.
func (p *phase) nodeServer(ns *NodeStats, i int, each []procSample) {
	if ns.PID <= 0 || i >= len(p.nodeStart) || p.nodeStart[i].At.IsZero() {
		return
	}
	start := p.nodeStart[i]
	end := procSample{}
	if i < len(each) {
		end = each[i]
	}
	if end.At.IsZero() {
		ns.Died, end = true, p.s.nodeLast[i]
	}
	ns.Sampled = true
	ns.RSSStartMB, ns.RSSEndMB = mb(start.RSS), mb(end.RSS)
	ns.RSSPeakMB = mb(max(p.s.nodePeak[i], end.RSS, start.RSS))
	cpu := (end.CPU - start.CPU).Seconds()
	ns.CPUSeconds = round3(cpu)
	if wall := end.At.Sub(start.At).Seconds(); wall > 0 {
		ns.CPUPct = round3(100 * cpu / wall)
	}
	ns.FDsStart, ns.FDsEnd, ns.MaxOpenFiles = start.FDs, end.FDs, p.nodeFiles[i]
	if p.held == nil || p.held.each[i].At.IsZero() {
		return
	}
	h := p.held.each[i]
	ns.RSSHeldMB, ns.FDsHeld = mb(h.RSS), h.FDs
	if ns.SocketsHeld > 0 {
		ns.RSSPerSocketBytes = round3(float64(h.RSS) / float64(ns.SocketsHeld))
		ns.GrowthPerSocketBytes = round3(float64(h.RSS-start.RSS) / float64(ns.SocketsHeld))
	}
}

// add sums o into the totals t; the per-socket figures of the totals
// count only the nodes whose process was read with the sockets held.
func (t *NodeStats) add(o NodeStats) {
	t.SocketsOK += o.SocketsOK
	t.SocketsFailed += o.SocketsFailed
	t.SocketsHeld += o.SocketsHeld
	t.Dropped += o.Dropped
	t.Died = t.Died || o.Died
	if !o.Sampled {
		return
	}
	t.Sampled = true
	t.RSSStartMB = round3(t.RSSStartMB + o.RSSStartMB)
	t.RSSHeldMB = round3(t.RSSHeldMB + o.RSSHeldMB)
	t.RSSPeakMB = round3(t.RSSPeakMB + o.RSSPeakMB)
	t.RSSEndMB = round3(t.RSSEndMB + o.RSSEndMB)
	t.CPUSeconds = round3(t.CPUSeconds + o.CPUSeconds)
	t.CPUPct = round3(t.CPUPct + o.CPUPct)
	t.FDsStart += o.FDsStart
	t.FDsHeld += o.FDsHeld
	t.FDsEnd += o.FDsEnd
	if o.RSSHeldMB > 0 {
		t.heldSockets += o.SocketsHeld
		t.heldRSS += o.RSSHeldMB
		t.heldGrowth += o.RSSHeldMB - o.RSSStartMB
	}
}

// perSocket sets the totals' per-socket figures from what add summed.
func (t *NodeStats) perSocket() {
	if t.heldSockets > 0 {
		t.RSSPerSocketBytes = round3(t.heldRSS * (1 << 20) / float64(t.heldSockets))
		t.GrowthPerSocketBytes = round3(t.heldGrowth * (1 << 20) / float64(t.heldSockets))
	}
}

// nodeRows writes the per-node section of the table.
func (t *table) nodeRows(nodes []NodeStats, total *NodeStats) {
	for _, n := range nodes {
		t.nodeRow(n)
	}
	if total != nil {
		t.nodeRow(*total)
	}
}

// nodeRow writes one node's (or the totals') sockets and process figures.
func (t *table) nodeRow(n NodeStats) {
	label := "node " + n.Name
	if n.URL == "" {
		label = n.Name
	}
	where := ""
	if n.URL != "" {
		where = "  " + n.URL
	}
	t.row(label, "sockets %d held, %d ok, %d failed, %d dropped%s", n.SocketsHeld, n.SocketsOK, n.SocketsFailed, n.Dropped, where)
	if n.Expected > 0 {
		t.row("", "deliveries %d of %d expected, lost %d, duplicates %d, out of order %d",
			n.Received, n.Expected, n.Lost, n.Duplicates, n.OutOfOrder)
	}
	if !n.Sampled {
		return
	}
	who := ""
	if n.PID > 0 {
		who = fmt.Sprintf("pid %d: ", n.PID)
	}
	if n.Died {
		who += "DIED (figures to its last sample); "
	}
	t.row("", "%srss %.1f MB → %.1f MB held (peak %.1f, end %.1f): %s/socket (growth %s)",
		who, n.RSSStartMB, n.RSSHeldMB, n.RSSPeakMB, n.RSSEndMB, kib(n.RSSPerSocketBytes), kib(n.GrowthPerSocketBytes))
	limit := ""
	if n.MaxOpenFiles > 0 {
		limit = fmt.Sprintf(" (limit %d)", n.MaxOpenFiles)
	}
	t.row("", "cpu %.2f s (%.0f%% of a core); fds %d → %d held → %d%s", n.CPUSeconds, n.CPUPct, n.FDsStart, n.FDsHeld, n.FDsEnd, limit)
}

// kib prints a byte count per socket in KiB.
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// nodesOverTime charts each node's RSS (the nodes whose process was
// read), in a run against several nodes.
func (r *Report) nodesOverTime() chart {
	var ss []series
	for i, n := range r.Nodes {
		s := series{name: n.Name}
		for _, p := range r.Timeline {
			if i < len(p.NodeRSSMB) && p.NodeRSSMB[i] > 0 {
				s.xs, s.ys = append(s.xs, p.T), append(s.ys, p.NodeRSSMB[i])
			}
		}
		if len(s.xs) > 0 {
			ss = append(ss, s)
		}
	}
	return chart{title: "Server RSS per node", xLabel: "seconds since start", yLabel: "RSS (MB)", series: ss}
}
