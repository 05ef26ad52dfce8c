package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"livechat/persistence"
)

// Metrics is the server's Prometheus instrumentation, registered on a
// registry the caller owns (never the global one). Every series that is
// touched per frame or per write is resolved once, here, and kept: the
// socket path costs an atomic add, not a label lookup. Lower layers do not
// import it: the persistence writer reports through the
// persistence.WriterObserver that Metrics implements, and the actors'
// atomics are read at scrape time (see watch).
//
// The methods are safe for concurrent use. Refused and Closed are the
// entry points for every limit that turns a client away or closes a socket.
type Metrics struct {
	reg prometheus.Registerer

	sockets        *socketStats
	httpSeconds    *prometheus.HistogramVec
	refusals       *prometheus.CounterVec
	refusalKinds   map[string]prometheus.Counter
	closes         *prometheus.CounterVec
	closeCodes     map[int]prometheus.Counter
	closeOther     prometheus.Counter
	appendSeconds  prometheus.Histogram
	commitSeconds  prometheus.Histogram
	commitMessages prometheus.Histogram
}

var _ persistence.WriterObserver = (*Metrics)(nil)

// Refusal kinds: the label values of livechat_refusals_total. A kind not
// listed still counts, under its own name.
var refusalKinds = []string{
	"rate_limit",      // messages over the user's rate (REST 429)
	"room_rate",       // room creations over the user's rate
	"register_rate",   // registrations over the client address's rate
	"login_rate",      // failed logins over the email's or address's rate
	"user_socket_cap", // a user's sockets over --max-user-sockets
	"ip_cap",          // an address's connections over --max-conns-per-ip
	"max_conns",       // open sockets over --max-conns
	"conn_cap",        // open connections over the open-file limit's share
	"storage_full",    // writes refused below the storage reserve (507, or chat.error on a socket)
}

// closeCodes are the close codes counted under their own label value;
// any other code a peer sends counts as "other", so that clients cannot
// grow the label set.
var closeCodes = []int{1000, 1001, 1002, 1006, 1008, 1009, 1011, 1013, 4001, 4008}

// NewMetrics creates the server's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := factory{reg}
	m := &Metrics{
		reg: reg,
		sockets: &socketStats{
			deliveries: f.counter("livechat_deliveries_total", "Frames queued to sockets (each delivery of a message to a socket counts once)."),
			bytes:      f.counter("livechat_socket_written_bytes_total", "Bytes written to sockets, frame headers included."),
			batch: f.histogram("livechat_socket_write_frames", "Frames per socket write (the write clock gathers a socket's frames into one write).",
				[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256}),
		},
		httpSeconds: f.histogramVec("livechat_http_request_duration_seconds",
			"HTTP requests by route pattern, method and status, from routing to the response being ready (101: a socket handshake).",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}, "route", "method", "status"),
		refusals:       f.counterVec("livechat_refusals_total", "Requests and sockets turned away by a limit, by kind.", "kind"),
		closes:         f.counterVec("livechat_socket_closes_total", "Sockets closed, by close code (1008 floods and bad frames, 4008 slow consumers, 1006 gone without a close).", "code"),
		appendSeconds:  f.histogram("livechat_storage_append_seconds", "Message appends, from the room's hand-off to the writer until durable.", storageBuckets),
		commitSeconds:  f.histogram("livechat_storage_commit_seconds", "Group commits in Badger: the write and, with --durability fsync, the fsync.", storageBuckets),
		commitMessages: f.histogram("livechat_storage_commit_messages", "Messages per group commit.", []float64{1, 2, 4, 8, 16, 64, 256, 1024, 4096}),
	}
	m.refusalKinds = make(map[string]prometheus.Counter, len(refusalKinds))
	for _, k := range refusalKinds {
		m.refusalKinds[k] = m.refusals.WithLabelValues(k)
	}
	m.closeCodes = make(map[int]prometheus.Counter, len(closeCodes))
	for _, c := range closeCodes {
		m.closeCodes[c] = m.closes.WithLabelValues(strconv.Itoa(c))
	}
	m.closeOther = m.closes.WithLabelValues("other")
	return m
}

// storageBuckets span an in-memory append (tens of µs) to a stalled disk.
var storageBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// Refused counts a request or socket turned away by a limit; kind is one
// of refusalKinds.
func (m *Metrics) Refused(kind string) {
	if c, ok := m.refusalKinds[kind]; ok {
		c.Inc()
		return
	}
	m.refusals.WithLabelValues(kind).Inc()
}

// Closed counts a socket closed with code.
func (m *Metrics) Closed(code int) {
	if c, ok := m.closeCodes[code]; ok {
		c.Inc()
		return
	}
	m.closeOther.Inc()
}

// Appended implements persistence.WriterObserver.
func (m *Metrics) Appended(d time.Duration) { m.appendSeconds.Observe(d.Seconds()) }

// Committed implements persistence.WriterObserver.
func (m *Metrics) Committed(d time.Duration, messages int) {
	m.commitSeconds.Observe(d.Seconds())
	m.commitMessages.Observe(float64(messages))
}

// observeHTTP records one request's latency.
func (m *Metrics) observeHTTP(route, method string, status int, d time.Duration) {
	m.httpSeconds.WithLabelValues(route, method, statusText(status)).Observe(d.Seconds())
}

// watch registers the series read at scrape time from the server, the
// actors and the store.
func (m *Metrics) watch(s *Server) {
	f := factory{m.reg}
	f.gaugeFunc("livechat_sockets_open", "Open sockets.", nil, func() float64 { return float64(s.conns.count()) })
	f.gaugeFunc("livechat_rooms_active", "Room actors running (rooms with sockets or recent traffic).", nil,
		func() float64 { return float64(s.engine.RoomsActive()) })
	accepted := "Messages stored and delivered, by where they were sent (resends of a client_id not counted)."
	f.counterFunc("livechat_messages_accepted_total", accepted, prometheus.Labels{"path": "rest"},
		func() float64 { rest, _ := s.engine.MessagesAccepted(); return float64(rest) })
	f.counterFunc("livechat_messages_accepted_total", accepted, prometheus.Labels{"path": "socket"},
		func() float64 { _, socket := s.engine.MessagesAccepted(); return float64(socket) })
	f.gaugeFunc("livechat_badger_lsm_bytes", "Size of Badger's LSM tree on disk (refreshed by Badger every minute).", nil,
		func() float64 { lsm, _ := s.store.Sizes(); return float64(lsm) })
	f.gaugeFunc("livechat_badger_vlog_bytes", "Size of Badger's value log on disk (refreshed by Badger every minute).", nil,
		func() float64 { _, vlog := s.store.Sizes(); return float64(vlog) })
	m.watchCaches(s)
}

// watchCaches registers what each cache holds and may hold, from the
// memory budget's split (--memory-budget): a scrape shows which cache an
// RSS rise belongs to.
func (m *Metrics) watchCaches(s *Server) {
	f := factory{m.reg}
	held, capacity := "livechat_cache_bytes", "livechat_cache_capacity_bytes"
	heldHelp, capHelp := "Bytes a cache holds now.", "Bytes a cache may hold, from the memory budget."
	cache := func(name string, fn func() (held, max int64)) {
		l := prometheus.Labels{"cache": name}
		f.gaugeFunc(held, heldHelp, l, func() float64 { h, _ := fn(); return float64(h) })
		f.gaugeFunc(capacity, capHelp, l, func() float64 { _, c := fn(); return float64(c) })
	}
	cache("badger_mapped", func() (int64, int64) { st := s.store.CacheStats(); return st.MappedUsed, st.MappedMax })
	cache("badger_index", func() (int64, int64) { st := s.store.CacheStats(); return st.IndexCacheUsed, st.IndexCacheMax })
	cache("records", func() (int64, int64) { st := s.store.CacheStats(); return st.RecordCacheUsed, st.RecordCacheMax })
	cache("client_ids", func() (int64, int64) { st := s.store.CacheStats(); return st.ClientIDsUsed, st.ClientIDsMax })
	cache("recent_messages", s.engine.RecentBytes)
	cache("tokens", s.TokenCacheBytes)
	f.gaugeFunc("livechat_badger_memtable_bytes", "Size of one Badger memtable, from the memory budget.", nil,
		func() float64 { return float64(s.store.CacheStats().MemTableSize) })
	f.gaugeFunc("livechat_store_memory_budget_bytes", "The store's share of the memory budget.", nil,
		func() float64 { return float64(s.store.CacheStats().Budget) })
}

// socketStats are the per-frame and per-write counters, shared by every
// Conn. A nil *socketStats counts nothing (Conns built in tests).
type socketStats struct {
	deliveries, bytes prometheus.Counter
	batch             prometheus.Histogram
}

// queued counts one frame queued for a socket.
func (st *socketStats) queued() {
	if st != nil {
		st.deliveries.Inc()
	}
}

// wrote counts one write of frames frames and n bytes.
func (st *socketStats) wrote(frames, n int) {
	if st != nil {
		st.bytes.Add(float64(n))
		st.batch.Observe(float64(frames))
	}
}

// factory registers what it creates on one registry.
type factory struct{ reg prometheus.Registerer }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

func (f factory) gaugeFunc(name, help string, labels prometheus.Labels, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, fn))
}

func (f factory) counterFunc(name, help string, labels prometheus.Labels, fn func() float64) {
	f.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, fn))
}

// statusTexts holds the label value of every HTTP status, so that a
// request's status needs no formatting.
var statusTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return "other"
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return "other"
}
