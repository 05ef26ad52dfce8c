package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of one run, written as JSON, a table and HTML.
type Report struct {
	Scenario   string    `json:"scenario"`
	ServerURL  string    `json:"server_url"`
	RunID      string    `json:"run_id"`
	Started    time.Time `json:"started"`
	SetupSec   float64   `json:"setup_s"`
	ElapsedSec float64   `json:"elapsed_s"`
	Settings   Settings  `json:"settings"`
	FileLimit  FileLimit `json:"file_limit"`
	Conns      ConnStats `json:"conns"`

	Messages *MessageStats  `json:"messages,omitempty"`
	Inbox    *InboxStats    `json:"inbox,omitempty"`
	Extras   *ExtrasStats   `json:"typing_receipts,omitempty"`
	REST     *RESTStats     `json:"rest,omitempty"`
	Capacity *CapacityStats `json:"capacity,omitempty"`
	Server   *ServerStats   `json:"server,omitempty"`
	Client   ClientStats    `json:"client"`
	// Nodes is the per-node section of a run against several nodes, and
	// NodesTotal its sums (none with one server).
	Nodes      []NodeStats `json:"nodes,omitempty"`
	NodesTotal *NodeStats  `json:"nodes_total,omitempty"`
	// InterNode is the traffic between the nodes per message (a cluster
	// whose nodes.json gives their metrics addresses).
	InterNode *InterNodeStats `json:"inter_node,omitempty"`

	// Timeline has one point per second of load.
	Timeline []TimePoint `json:"timeline,omitempty"`
	// LatencyTimeline has the latency of the deliveries of each second.
	LatencyTimeline []SecondLatency `json:"latency_timeline,omitempty"`
	// Distribution is the end-to-end (or request) latency percentile curve.
	Distribution []PercentilePoint `json:"distribution,omitempty"`
	// InboxDistribution is the inbox.message latency curve (inbox).
	InboxDistribution []PercentilePoint `json:"inbox_distribution,omitempty"`
	// TokenRenewals counts access tokens renewed during the run, each sent
	// on every open socket of its account (none in a run shorter than the
	// token lifetime).
	TokenRenewals int64 `json:"token_renewals,omitempty"`
	// Notes say what limited or spoiled the run, in words.
	Notes []string `json:"notes,omitempty"`
}

// Settings are the configuration the run used, after defaults.
type Settings struct {
	Rooms       int     `json:"rooms"`
	Members     int     `json:"members,omitempty"`
	Senders     int     `json:"senders,omitempty"`
	Users       int     `json:"users"`
	Rate        float64 `json:"rate"`
	RateMax     float64 `json:"rate_max,omitempty"`
	DurationSec float64 `json:"duration_s"`
	MsgSize     int     `json:"msg_size,omitempty"`
	Conns       int     `json:"conns,omitempty"`
	Concurrency int     `json:"concurrency"`
	// The inbox scenario's room shapes.
	RoomsPerUser int     `json:"rooms_per_user,omitempty"`
	Kind         string  `json:"kind,omitempty"`
	RoomSockets  float64 `json:"room_sockets,omitempty"`
	// Typing and receipts load of the chat scenarios.
	Typing      bool    `json:"typing,omitempty"`
	Read        bool    `json:"read,omitempty"`
	ReadEveryMs float64 `json:"read_every_ms,omitempty"`
	// Peer is the server loaded when it is not LiveChat (Config.Peer).
	Peer string `json:"peer,omitempty"`
}

// ConnStats counts socket opens.
type ConnStats struct {
	Attempted int64            `json:"attempted"`
	OK        int64            `json:"ok"`
	Failed    int64            `json:"failed"`
	Failures  map[string]int64 `json:"failures,omitempty"`
	// PerSec is the rate of successful opens while opening.
	PerSec float64 `json:"per_s"`
	// OpenLatency is the time from dial to an open socket.
	OpenLatency LatencyStats `json:"open_latency"`
	// Dropped counts sockets closed by the server or the network mid-run.
	Dropped     int64            `json:"dropped"`
	DropReasons map[string]int64 `json:"drop_reasons,omitempty"`
}

// MessageStats is the delivery accounting of a chat run.
type MessageStats struct {
	Sent       int64            `json:"sent"`
	SendErrors map[string]int64 `json:"send_errors,omitempty"`
	// TargetRate is the configured total send rate at the start, msgs/s.
	TargetRate float64 `json:"target_rate"`
	// TargetRateMax is the total send rate at the end of a rising run.
	TargetRateMax float64 `json:"target_rate_max,omitempty"`
	// SendRate is the achieved average send rate, msgs/s.
	SendRate float64 `json:"send_rate"`
	// Expected is sent × connected members, summed over rooms.
	Expected int64   `json:"expected"`
	Received int64   `json:"received"`
	Lost     int64   `json:"lost"`
	LossPct  float64 `json:"loss_pct"`
	deliveryCounts
	// DeliveriesPerSec is the average over the send period and the drain.
	DeliveriesPerSec float64      `json:"deliveries_per_s"`
	Latency          LatencyStats `json:"latency"`
}

// InboxStats is the inbox.message accounting of the inbox scenario: every
// member of a room with an inbox socket open, the sender included, must
// get one inbox.message per message of the room.
type InboxStats struct {
	Kind         string `json:"kind"`
	Users        int    `json:"users"`
	RoomsPerUser int    `json:"rooms_per_user"`
	Rooms        int    `json:"rooms"`
	// Members is the members of each room.
	Members int `json:"members"`
	// InboxSockets and RoomSockets are the sockets that opened.
	InboxSockets int64 `json:"inbox_sockets"`
	RoomSockets  int64 `json:"room_sockets"`
	// Expected is sent × members with an inbox socket, summed over rooms.
	Expected int64   `json:"expected"`
	Received int64   `json:"received"`
	Lost     int64   `json:"lost"`
	LossPct  float64 `json:"loss_pct"`
	deliveryCounts
	DeliveriesPerSec float64      `json:"deliveries_per_s"`
	Latency          LatencyStats `json:"latency"`
}

// ExtrasStats is what typing indicators and read receipts cost: a chat
// run with them sends twice, back to back on the same sockets, first
// plain, then with them.
type ExtrasStats struct {
	Typing      bool       `json:"typing"`
	Read        bool       `json:"read"`
	ReadEveryMs float64    `json:"read_every_ms"`
	Plain       PhaseStats `json:"plain"`
	With        PhaseStats `json:"with"`
	// ExtraCPUMsPer1kDeliveries is With's server CPU per 1,000 deliveries
	// minus Plain's, and ExtraPct that difference in % of Plain's.
	ExtraCPUMsPer1kDeliveries float64 `json:"extra_cpu_ms_per_1k_deliveries"`
	ExtraPct                  float64 `json:"extra_pct"`
	// Frames: chat.typing sent by senders and received by members,
	// chat.read sent by members and receipt frames received, chat.error
	// frames received (a server without the extension answers these
	// frames with one each).
	TypingSent       int64 `json:"typing_sent"`
	TypingReceived   int64 `json:"typing_received"`
	ReadsSent        int64 `json:"reads_sent"`
	ReadSendErrors   int64 `json:"read_send_errors,omitempty"`
	ReceiptsReceived int64 `json:"receipts_received"`
	ErrorsReceived   int64 `json:"errors_received"`
	// TypingPer1kDeliveries and ReceiptsPer1kDeliveries are the frames
	// received per 1,000 message deliveries of the phase with them.
	TypingPer1kDeliveries   float64 `json:"typing_per_1k_deliveries"`
	ReceiptsPer1kDeliveries float64 `json:"receipts_per_1k_deliveries"`
}

// PhaseStats is one phase of a run with extras: from its first message
// to its last delivery plus a short settle.
type PhaseStats struct {
	SendSec              float64      `json:"send_s"`
	ElapsedSec           float64      `json:"elapsed_s"`
	Sent                 int64        `json:"sent"`
	Deliveries           int64        `json:"deliveries"`
	DeliveriesPerSec     float64      `json:"deliveries_per_s"`
	LoadCPUSeconds       float64      `json:"load_cpu_s,omitempty"`
	CPUMsPer1kDeliveries float64      `json:"cpu_ms_per_1k_deliveries,omitempty"`
	Latency              LatencyStats `json:"latency"`
}

// RESTStats is the outcome of the rest scenario.
type RESTStats struct {
	Requests int64            `json:"requests"`
	Errors   int64            `json:"errors"`
	Status   map[string]int64 `json:"status"`
	PerSec   float64          `json:"per_s"`
	Post     LatencyStats     `json:"post_message"`
	Get      LatencyStats     `json:"get_room"`
}

// CapacityStats is the outcome of the capacity scenario.
type CapacityStats struct {
	Target int64 `json:"target"`
	Held   int64 `json:"held"`
	// PeakLive is the most sockets seen open at once (by the once-a-second
	// samples), which is below Held only when sockets were lost while holding.
	PeakLive  int64   `json:"peak_live"`
	Processes int     `json:"processes"`
	HoldSec   float64 `json:"hold_s"`
	// ServerRSSBeforeMB and ServerRSSHeldMB frame the server's memory for
	// the sockets; BytesPerConn is their difference per held socket.
	ServerRSSBeforeMB float64 `json:"server_rss_before_mb,omitempty"`
	ServerRSSHeldMB   float64 `json:"server_rss_held_mb,omitempty"`
	BytesPerConn      float64 `json:"server_bytes_per_conn,omitempty"`
}

// ServerStats is the server's resource use over the load, from /proc.
type ServerStats struct {
	// PID is the server's process id; with several nodes it is 0, PIDs
	// lists theirs and every figure below is a sum over them (the open
	// files limit: the least of theirs).
	PID        int     `json:"pid"`
	PIDs       []int   `json:"pids,omitempty"`
	CPUSeconds float64 `json:"cpu_s"`
	CPUPct     float64 `json:"cpu_pct"`
	RSSStartMB float64 `json:"rss_start_mb"`
	RSSPeakMB  float64 `json:"rss_peak_mb"`
	RSSEndMB   float64 `json:"rss_end_mb"`
	// RSSPeakAnonMB and RSSPeakFileMB split the peak RSS sample into
	// anonymous memory and pages of files mapped from disk (which the
	// kernel may reclaim); AnonPeakMB is the most anonymous memory seen.
	RSSPeakAnonMB float64 `json:"rss_peak_anon_mb,omitempty"`
	RSSPeakFileMB float64 `json:"rss_peak_file_mb,omitempty"`
	AnonPeakMB    float64 `json:"anon_peak_mb,omitempty"`
	FDsStart      int     `json:"fds_start"`
	FDsEnd        int     `json:"fds_end"`
	MaxOpenFiles  int64   `json:"max_open_files"`
	// LoadCPUSeconds is the server's CPU from the first message sent to the
	// last delivered (setup, connects and warm-up left out), and
	// CPUMsPer1kDeliveries that CPU per 1,000 deliveries: what one delivery
	// costs the server, comparable across rates and room shapes.
	LoadCPUSeconds       float64 `json:"load_cpu_s,omitempty"`
	CPUMsPer1kDeliveries float64 `json:"cpu_ms_per_1k_deliveries,omitempty"`
}

// ClientStats is the load generator's own resource use: when its CPU is
// near the cores it has, it, not the server, limited the run.
type ClientStats struct {
	CPUSeconds float64 `json:"cpu_s"`
	RSSMB      float64 `json:"rss_mb"`
	Processes  int     `json:"processes"`
	// WorkerCPUSeconds and WorkerRSSMB add up the capacity worker processes.
	WorkerCPUSeconds float64 `json:"worker_cpu_s,omitempty"`
	WorkerRSSMB      float64 `json:"worker_rss_mb,omitempty"`
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: write json report: %w", err)
	}
	return nil
}

// WriteTable writes r as a plain-text table for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	t := &table{w: w}
	server := r.ServerURL
	if r.Settings.Peer != "" {
		server = r.Settings.Peer + " at " + server
	}
	t.head(fmt.Sprintf("livechat bench %s — %s — run %s", r.Scenario, server, r.RunID))
	t.row("elapsed", "%.1f s (setup %.1f s)", r.ElapsedSec, r.SetupSec)
	t.row("open files limit", "%d (hard %d)", r.FileLimit.Soft, r.FileLimit.Hard)
	t.connRows(r.Conns)
	if m := r.Messages; m != nil {
		t.messageRows(m)
	}
	if x := r.Inbox; x != nil {
		t.inboxRows(x)
	}
	if x := r.Extras; x != nil {
		t.extrasRows(x)
	}
	if x := r.REST; x != nil {
		t.restRows(x)
	}
	if c := r.Capacity; c != nil {
		t.capacityRows(c)
	}
	if s := r.Server; s != nil {
		t.row("server cpu", "%.2f s (%.0f%% of a core)", s.CPUSeconds, s.CPUPct)
		if s.CPUMsPer1kDeliveries > 0 {
			t.row("server cpu / 1k del", "%.2f ms (%.2f s while sending and delivering)", s.CPUMsPer1kDeliveries, s.LoadCPUSeconds)
		}
		t.row("server rss", "start %.1f MB, peak %.1f MB, end %.1f MB", s.RSSStartMB, s.RSSPeakMB, s.RSSEndMB)
		if s.AnonPeakMB > 0 {
			t.row("server rss split", "at the peak %.1f MB anonymous + %.1f MB mapped files; anonymous peak %.1f MB", s.RSSPeakAnonMB, s.RSSPeakFileMB, s.AnonPeakMB)
		}
		t.row("server fds", "start %d, end %d, limit %d", s.FDsStart, s.FDsEnd, s.MaxOpenFiles)
	}
	t.nodeRows(r.Nodes, r.NodesTotal)
	if in := r.InterNode; in != nil {
		t.interNodeRows(in)
	}
	t.row("client", "cpu %.2f s, rss %.1f MB, %d process(es)", r.Client.CPUSeconds, r.Client.RSSMB, r.Client.Processes)
	if r.Client.WorkerCPUSeconds > 0 {
		t.row("client workers", "cpu %.2f s, rss %.1f MB in all", r.Client.WorkerCPUSeconds, r.Client.WorkerRSSMB)
	}
	if r.TokenRenewals > 0 {
		t.row("token renewals", "%d", r.TokenRenewals)
	}
	for _, n := range r.Notes {
		t.row("note", "%s", n)
	}
	return t.err
}

// table writes aligned "label  value" rows, remembering the first error.
type table struct {
	w   io.Writer
	err error
}

func (t *table) head(s string) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, "%s\n", s)
	}
}

func (t *table) row(label, format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, "  %-20s %s\n", label, fmt.Sprintf(format, args...))
	}
}

func (t *table) connRows(c ConnStats) {
	if c.Attempted == 0 {
		return // the rest scenario opens no sockets
	}
	t.row("connections", "%d ok, %d failed of %d (%.0f/s)", c.OK, c.Failed, c.Attempted, c.PerSec)
	if c.OpenLatency.Count > 0 {
		t.latency("open latency", c.OpenLatency)
	}
	t.counts("open failures", c.Failures)
	if c.Dropped > 0 {
		t.row("dropped", "%d", c.Dropped)
		t.counts("drop reasons", c.DropReasons)
	}
}

func (t *table) messageRows(m *MessageStats) {
	target := fmt.Sprintf("%.1f/s", m.TargetRate)
	if m.TargetRateMax > m.TargetRate {
		target = fmt.Sprintf("rising %.1f → %.1f/s", m.TargetRate, m.TargetRateMax)
	}
	t.row("messages sent", "%d (%.1f/s, target %s)", m.Sent, m.SendRate, target)
	t.counts("send errors", m.SendErrors)
	t.row("deliveries", "%d of %d expected, lost %d (%.3f%%), %.0f/s", m.Received, m.Expected, m.Lost, m.LossPct, m.DeliveriesPerSec)
	t.row("duplicates", "%d", m.Duplicates)
	t.row("out of order", "%d (seq gaps %d, seq regressions %d)", m.OutOfOrder, m.SeqGaps, m.SeqRegressions)
	if m.Refused > 0 {
		t.row("refused", "%d error replies from the server (publishes it refused; their deliveries count as lost)", m.Refused)
	}
	if m.Foreign+m.Unparsed+m.Malformed > 0 {
		t.row("stray frames", "misrouted %d, foreign text %d, malformed %d", m.Foreign, m.Unparsed, m.Malformed)
	}
	t.latency("latency", m.Latency)
}

func (t *table) inboxRows(x *InboxStats) {
	t.row("inbox rooms", "%d %s rooms of %d, %d users in %d rooms each", x.Rooms, x.Kind, x.Members, x.Users, x.RoomsPerUser)
	t.row("inbox sockets", "%d inbox, %d room sockets", x.InboxSockets, x.RoomSockets)
	t.row("inbox deliveries", "%d of %d expected, lost %d (%.3f%%), %.0f/s", x.Received, x.Expected, x.Lost, x.LossPct, x.DeliveriesPerSec)
	t.row("inbox duplicates", "%d", x.Duplicates)
	t.row("inbox out of order", "%d (seq gaps %d, seq regressions %d)", x.OutOfOrder, x.SeqGaps, x.SeqRegressions)
	if x.Foreign+x.Unparsed+x.Malformed > 0 {
		t.row("inbox stray frames", "misrouted %d, foreign text %d, malformed %d", x.Foreign, x.Unparsed, x.Malformed)
	}
	t.latency("inbox latency", x.Latency)
}

func (t *table) extrasRows(x *ExtrasStats) {
	var what []string
	if x.Typing {
		what = append(what, "typing")
	}
	switch {
	case x.Read && x.ReadEveryMs > 0:
		what = append(what, fmt.Sprintf("read receipts (chat.read every %.0f ms at most)", x.ReadEveryMs))
	case x.Read:
		what = append(what, "read receipts (chat.read after every message)")
	}
	t.row("extras", "%s, second phase", strings.Join(what, " and "))
	for _, p := range []struct {
		label string
		s     PhaseStats
	}{{"plain phase", x.Plain}, {"with extras", x.With}} {
		t.row(p.label, "%d sent, %d deliveries (%.0f/s) in %.1f s; server cpu / 1k del %.2f ms (%.2f s)",
			p.s.Sent, p.s.Deliveries, p.s.DeliveriesPerSec, p.s.ElapsedSec, p.s.CPUMsPer1kDeliveries, p.s.LoadCPUSeconds)
		t.latency(p.label+" lat", p.s.Latency)
	}
	if x.Plain.CPUMsPer1kDeliveries > 0 && x.With.CPUMsPer1kDeliveries > 0 {
		t.row("extras cpu / 1k del", "%+.2f ms (%+.1f%%)", x.ExtraCPUMsPer1kDeliveries, x.ExtraPct)
	}
	t.row("typing frames", "%d sent, %d received (%.1f per 1k deliveries)", x.TypingSent, x.TypingReceived, x.TypingPer1kDeliveries)
	t.row("read frames", "%d chat.read sent, %d receipt frames received (%.1f per 1k deliveries)", x.ReadsSent, x.ReceiptsReceived, x.ReceiptsPer1kDeliveries)
	if x.ErrorsReceived+x.ReadSendErrors > 0 {
		t.row("chat.error frames", "%d received, %d chat.read writes failed", x.ErrorsReceived, x.ReadSendErrors)
	}
}

func (t *table) restRows(x *RESTStats) {
	t.row("requests", "%d (%.0f/s), errors %d", x.Requests, x.PerSec, x.Errors)
	t.counts("status", x.Status)
	t.latency("POST message", x.Post)
	t.latency("GET room", x.Get)
}

func (t *table) capacityRows(c *CapacityStats) {
	t.row("sockets held", "%d of %d in %d process(es) for %.1f s (peak %d open)", c.Held, c.Target, c.Processes, c.HoldSec, c.PeakLive)
	if c.BytesPerConn > 0 {
		t.row("server memory", "%.1f MB → %.1f MB: %.0f bytes per socket", c.ServerRSSBeforeMB, c.ServerRSSHeldMB, c.BytesPerConn)
	}
}

func (t *table) latency(label string, l LatencyStats) {
	t.row(label, "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms (n=%d)", l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
}

func (t *table) counts(label string, m map[string]int64) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		t.row(label, "%s: %d", k, m[k])
	}
}
