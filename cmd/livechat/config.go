package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"livechat/actors"
	"livechat/api"
)

// serveConfig is everything `livechat serve` can be told, from flags, the
// environment, or a .env file (in that order of precedence).
type serveConfig struct {
	addr, dataDir, secret, durability   string
	pprofAddr                           string
	memoryBudget                        string
	logFormat, logLevel, metricsAddr    string
	inMemory, debug                     bool
	allowedHosts, corsOrigins, wsOrigin string
	shutdownTimeout                     time.Duration

	maxBody, maxHeader, maxMessageChars, maxFrame, maxOutbound, maxConns int
	messageRate, typingRate, readRate                                    float64
	messageBurst, loginRate, bcryptCost, strikeBurst                     int
	roomRate, registerRate                                               int
	pingInterval, idleTimeout, accessTTL, refreshTTL                     time.Duration
	roomIdle, writeDelay, commitGather                                   time.Duration
	presenceGrace, receiptInterval, typingTimeout                        time.Duration
	secureCookie                                                         bool
	maxUserSockets, maxConnsPerIP, clientPingBurst                       int
	clientPingRate                                                       float64
	headerTimeout, keepAliveTimeout                                      time.Duration
	storageReserve                                                       int
	procs                                                                int
	maxRoomMembers, memberAddRate                                        int
	maxAvatarBytes, avatarRate                                           int

	// Cluster mode (cluster.go): on when clusterNode is set.
	clusterNode, clusterName, clusterListen, clusterRoutes string
	clusterPeers, clusterNATSURL                           string
	clusterReplicas                                        int
	clusterIsolationExit                                   time.Duration
}

// flagSet declares every setting of `livechat serve`, one line each, with
// its default. Each flag is also read from an environment variable named
// after it (--max-body <-> LIVECHAT_MAX_BODY; envNames lists the older
// names kept), so a new setting needs only its line here; a number is
// refused below zero, and settingRules holds any tighter rule.
func (c *serveConfig) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by runServe
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8000", "listen address")
	fs.StringVar(&c.dataDir, "data", "./data", "data directory")
	fs.StringVar(&c.pprofAddr, "pprof", "", "serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.BoolVar(&c.inMemory, "in-memory", false, "keep everything in memory, nothing on disk (testing)")
	fs.StringVar(&c.secret, "secret", "", "token signing key, at least 32 bytes; generated and kept in the data directory when empty")
	fs.StringVar(&c.durability, "durability", "fsync", "fsync: every acknowledged message survives power loss; os: survives a killed process")
	fs.DurationVar(&c.commitGather, "commit-gather", time.Millisecond, "with --durability fsync, while messages are written less than this apart: a message waits, at most this long, for up to 3 more to share its disk sync; a quiet server never waits; 0 for never")
	fs.StringVar(&c.allowedHosts, "allowed-hosts", "localhost,127.0.0.1,[::1]", "accepted Host headers, comma-separated; * for any")
	fs.StringVar(&c.corsOrigins, "cors-origins", "*", "origins allowed by CORS, comma-separated")
	fs.StringVar(&c.wsOrigin, "ws-origins", "", "extra origins whose pages may open sockets with the login cookie")
	fs.BoolVar(&c.secureCookie, "secure-cookie", false, "mark the access_token cookie Secure")
	fs.BoolVar(&c.debug, "debug", false, "debug logging")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error; --debug means debug")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "127.0.0.1:9180", "serve Prometheus metrics at /metrics on this address; off when empty")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long shutdown waits for requests and sockets")
	fs.IntVar(&c.maxBody, "max-body", 64<<10, "request body limit in bytes, 413 above")
	fs.IntVar(&c.maxHeader, "max-header", 8<<10, "request line and headers limit in bytes, 431 above")
	fs.IntVar(&c.maxMessageChars, "max-message-chars", 4096, "chat message limit in characters")
	fs.IntVar(&c.maxFrame, "max-frame", 0, "WebSocket frame limit in bytes, close 1009 above; 0: 12 x (max-message-chars + 64) + 1024, room for a maximal message however it is escaped")
	fs.IntVar(&c.maxOutbound, "max-outbound", 1<<20, "unsent bytes per socket before it is closed as a slow consumer (4008)")
	fs.IntVar(&c.maxConns, "max-conns", 100_000, "open sockets at most (the open-file limit may be lower)")
	fs.IntVar(&c.maxUserSockets, "max-user-sockets", 32, "open sockets per user over every room, 429 before the upgrade above")
	fs.IntVar(&c.maxConnsPerIP, "max-conns-per-ip", 256, "open TCP connections (REST and sockets) per client address; one more is answered 429 and closed")
	fs.DurationVar(&c.headerTimeout, "header-timeout", 5*time.Second, "time for a request's line and headers to arrive, 408 after")
	fs.DurationVar(&c.keepAliveTimeout, "keepalive-timeout", 2*time.Minute, "how long an idle REST keep-alive connection is kept open")
	fs.Float64Var(&c.clientPingRate, "client-ping-rate", 1, "pings per second a client may send; one past it (and the burst) is not answered and counts as a rejected frame")
	fs.IntVar(&c.clientPingBurst, "client-ping-burst", 10, "pings a client may send at once")
	fs.Float64Var(&c.messageRate, "message-rate", 20, "chat messages per second per user, sustained, REST and sockets together (sockets over it are slowed, REST gets 429)")
	fs.IntVar(&c.messageBurst, "message-burst", 40, "chat messages a user may send at once above --message-rate")
	fs.Float64Var(&c.typingRate, "typing-rate", 2, "chat.typing frames per second per socket; past it only the newest is passed on, when the rate allows")
	fs.Float64Var(&c.readRate, "read-rate", 10, "chat.read frames per second per socket; past it only the highest mark is passed on, when the rate allows")
	fs.DurationVar(&c.typingTimeout, "typing-timeout", 5*time.Second, "a typing indicator not refreshed for this long ends with typing:false")
	fs.IntVar(&c.strikeBurst, "strike-burst", 10, "rejected (invalid) frames a socket may send before it is closed with 1008; one is forgiven per second")
	fs.IntVar(&c.roomRate, "room-rate", 10, "room creations per user per minute, 429 above")
	fs.IntVar(&c.memberAddRate, "member-add-rate", 60, "member additions (joins included) per user per minute, 429 above")
	fs.IntVar(&c.maxRoomMembers, "max-room-members", 10000, "members a room may have; adding one more is answered 400")
	fs.IntVar(&c.maxAvatarBytes, "max-avatar-bytes", 2<<20, "profile picture file limit in bytes, 400 above; a multipart profile body may hold it plus 64 KiB, 413 above")
	fs.IntVar(&c.avatarRate, "avatar-rate", 20, "profile picture uploads per user per hour, 429 above")
	fs.IntVar(&c.registerRate, "register-rate", 10, "registration requests per client address per minute, 429 above")
	fs.IntVar(&c.loginRate, "login-rate", 10, "failed login attempts per minute per email (5x per client address); successful logins do not count")
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", 10, "password hash cost, 4 to 31")
	fs.DurationVar(&c.pingInterval, "ping-interval", 30*time.Second, "ping sockets quiet for this long")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 5*time.Minute, "close sockets that sent nothing, not even a pong, for this long")
	fs.DurationVar(&c.accessTTL, "access-ttl", 60*time.Minute, "access token lifetime")
	fs.DurationVar(&c.refreshTTL, "refresh-ttl", 24*time.Hour, "refresh token lifetime")
	fs.DurationVar(&c.writeDelay, "write-delay", 5*time.Millisecond, "period of the write clock: a socket written within ten periods waits for its next tick, gathering frames into one write; a quiet one is written at once; 0 or negative for none")
	fs.DurationVar(&c.presenceGrace, "presence-grace", time.Second, "a user whose last socket in a room closes stays online this long: a reconnect within it sends neither leave nor join")
	fs.DurationVar(&c.receiptInterval, "receipt-interval", time.Second, "a room sends at most one chat.read receipt frame per interval, listing the markers moved meanwhile")
	fs.IntVar(&c.storageReserve, "storage-reserve", 0, "free bytes kept on the data volume, writes answer 507 below it; 0: derived from the database's file sizes")
	fs.IntVar(&c.procs, "procs", 0, "processors that run Go code (GOMAXPROCS); 0 adapts to load: one once the server's use over 2 s averages under a quarter of a core, all of them (the runtime's count) as soon as it uses over a third of one")
	fs.StringVar(&c.memoryBudget, "memory-budget", "512MiB", "memory for Badger's memtables and caches, recent messages, token cache and working heap, e.g. 512MiB or 1GiB; sockets cost about 10 KiB each on top")
	fs.DurationVar(&c.roomIdle, "room-idle", 2*time.Minute, "passivate a room idle this long")
	fs.StringVar(&c.clusterNode, "cluster-node", "", "this node's name in a cluster, unique and stable; empty: a single node (no cluster)")
	fs.StringVar(&c.clusterName, "cluster-name", "livechat", "the cluster's name, the same on every node")
	fs.StringVar(&c.clusterListen, "cluster-listen", "127.0.0.1:4222", "the embedded NATS server's client address (cluster mode)")
	fs.StringVar(&c.clusterRoutes, "cluster-routes", "127.0.0.1:6222", "the address other nodes' NATS servers connect to (cluster mode)")
	fs.StringVar(&c.clusterPeers, "cluster-peers", "", "the other nodes' --cluster-routes addresses, comma-separated (cluster mode)")
	fs.StringVar(&c.clusterNATSURL, "cluster-nats-url", "", "use this external NATS cluster, with JetStream, instead of an embedded server (cluster mode)")
	fs.IntVar(&c.clusterReplicas, "cluster-replicas", 0, "copies of the cluster's log when this node creates it, 1 to 5; 0: 3, or the node count when fewer (with --cluster-nats-url: 3)")
	fs.DurationVar(&c.clusterIsolationExit, "cluster-isolation-exit", 15*time.Second, "exit (status 1, for the supervisor to restart the node) once the cluster's log has been out of reach this long, or at once when the node stops applying it (cluster mode)")
	return fs
}

// envNames are the environment variables that keep the names they had
// before every flag got one (Django's names, and the data directory's);
// every other flag's is envName's.
var envNames = map[string]string{
	"data":          "LIVECHAT_DATA_DIR",
	"secret":        "SECRET_KEY",
	"allowed-hosts": "ALLOWED_HOSTS",
	"debug":         "DEBUG",
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	if name, ok := envNames[flagName]; ok {
		return name
	}
	return "LIVECHAT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settingRule is what a setting's value must be, beyond its type: a
// number at least min (above it when above is set; at most max when max is
// set), or a string among oneOf.
type settingRule struct {
	min, max float64
	above    bool
	oneOf    []string
	why      string // shown with the refusal
}

// settingRules tightens the default rule, which refuses a negative number.
// Zero means "the component's default" in each component's Config, so a
// limit given as 0 would be ignored without a word: limits start at 1.
var settingRules = map[string]settingRule{
	"durability":        {oneOf: []string{"fsync", "os"}},
	"log-format":        {oneOf: []string{"text", "json"}},
	"log-level":         {oneOf: []string{"debug", "info", "warn", "error"}},
	"bcrypt-cost":       {min: float64(bcrypt.MinCost), max: float64(bcrypt.MaxCost), why: "bcrypt's range"},
	"max-body":          {min: 1},
	"max-header":        {min: 1},
	"max-message-chars": {min: 1},
	"max-frame":         {min: 0}, // 0: derived from max-message-chars
	"max-outbound":      {min: 16 << 10, why: "a socket must be able to hold a few frames"},
	"max-conns":         {min: 1},
	"max-user-sockets":  {min: 1},
	"max-conns-per-ip":  {min: 1},
	"storage-reserve":   {min: 0}, // 0: derived from Badger's sizes
	"procs":             {min: 0}, // 0: adapts (procs.go)
	"header-timeout":    {min: 0, above: true},
	"keepalive-timeout": {min: float64(time.Second), why: "a client reuses its connection between requests"},
	"client-ping-rate":  {min: 0, above: true},
	"client-ping-burst": {min: 1},
	"message-rate":      {min: 0, above: true},
	"message-burst":     {min: 1},
	"typing-rate":       {min: 0, above: true},
	"read-rate":         {min: 0, above: true},
	"typing-timeout":    {min: 0, above: true},
	"strike-burst":      {min: 1},
	"login-rate":        {min: 1},
	"room-rate":         {min: 1},
	"register-rate":     {min: 1},
	"member-add-rate":   {min: 1},
	"max-room-members":  {min: 2, why: "a direct room has two members"},
	"max-avatar-bytes":  {min: 1},
	"avatar-rate":       {min: 1},
	"ping-interval":     {min: 0, above: true},
	"idle-timeout":      {min: 0, above: true},
	"access-ttl":        {min: 0, above: true},
	"refresh-ttl":       {min: 0, above: true},
	"room-idle":         {min: 0, above: true},
	"presence-grace":    {min: 0, above: true},
	"receipt-interval":  {min: 0, above: true},
	"write-delay":       {min: math.Inf(-1)}, // 0 or negative: no write clock (see components)
	"cluster-replicas":  {min: 0, max: 5},
	// Below a few seconds a Raft election (4-7 s after a leader dies)
	// would restart every node that waits for it.
	"cluster-isolation-exit": {min: float64(5 * time.Second), why: "a leader election takes several seconds"},
}

// parseServeFlags reads the settings from the command line and, for each
// flag not given there, from its environment variable. Any value that is
// not valid is an error naming the flag or the variable: nothing falls
// back to a default.
func parseServeFlags(args []string, getenv func(string) string) (serveConfig, error) {
	var c serveConfig
	fs := c.flagSet()
	fs.VisitAll(func(f *flag.Flag) { f.Value = explained{f.Value, kindOf(f)} })
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	from := map[string]string{} // flag name -> where its value came from
	fs.Visit(func(f *flag.Flag) { from[f.Name] = "--" + f.Name + " " + f.Value.String() })
	var errs []error
	unparsed := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if _, given := from[f.Name]; given || v == "" {
			return
		}
		from[f.Name] = name + "=" + v
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			unparsed[f.Name] = true
		}
	})
	fs.VisitAll(func(f *flag.Flag) {
		if err := checkSetting(f); err != nil && !unparsed[f.Name] {
			errs = append(errs, fmt.Errorf("%s: %w", cmp.Or(from[f.Name], "default of --"+f.Name), err))
		}
	})
	if n := len(c.secret); n > 0 && n < api.MinSecretBytes {
		// RFC 7518 3.2: an HS256 key must be at least as long as the hash.
		errs = append(errs, fmt.Errorf("%s (%d bytes): a signing key needs at least %d bytes (RFC 7518 3.2); leave it empty to have one generated",
			sourceName(from["secret"], "secret"), n, api.MinSecretBytes))
	}
	if _, err := parseMemoryBudget(c.memoryBudget); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", cmp.Or(from["memory-budget"], "default of --memory-budget"), err))
	}
	if err := c.checkCluster(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// sourceName is where a value came from, without the value itself (for
// secrets).
func sourceName(from, flagName string) string {
	if strings.HasPrefix(from, "--") {
		return "--" + flagName
	}
	return envName(flagName)
}

// checkSetting applies settingRules, or the default rule, to one flag.
func checkSetting(f *flag.Flag) error {
	rule := settingRules[f.Name]
	switch v := flagValue(f).(type) {
	case string:
		if len(rule.oneOf) > 0 && !slices.Contains(rule.oneOf, v) {
			return fmt.Errorf("must be %s", strings.Join(rule.oneOf, " or "))
		}
		return nil
	case bool:
		return nil
	case time.Duration:
		return checkNumber(float64(v), rule, func(x float64) string { return time.Duration(x).String() })
	case int:
		return checkNumber(float64(v), rule, func(x float64) string { return fmt.Sprint(int64(x)) })
	case int64:
		return checkNumber(float64(v), rule, func(x float64) string { return fmt.Sprint(int64(x)) })
	case float64:
		return checkNumber(v, rule, func(x float64) string { return fmt.Sprint(x) })
	}
	return nil // unsigned (never negative), or a type of its own
}

// flagValue is a flag's typed value, or nil for a flag.Value that does
// not say (its own Set is then its only check).
func flagValue(f *flag.Flag) any {
	if g, ok := f.Value.(flag.Getter); ok {
		return g.Get()
	}
	return nil
}

func checkNumber(v float64, rule settingRule, show func(float64) string) error {
	why := ""
	if rule.why != "" {
		why = " (" + rule.why + ")"
	}
	switch {
	case rule.max != 0 && (v < rule.min || v > rule.max):
		return fmt.Errorf("must be between %s and %s%s", show(rule.min), show(rule.max), why)
	case rule.above && v <= rule.min:
		return fmt.Errorf("must be above %s%s", show(rule.min), why)
	case v < rule.min:
		if rule.min == 0 {
			return fmt.Errorf("must not be negative%s", why)
		}
		return fmt.Errorf("must be at least %s%s", show(rule.min), why)
	}
	return nil
}

// explained is a flag's value whose parse errors say what was expected
// ("want a whole number") rather than strconv's "parse error".
type explained struct {
	flag.Value
	kind string
}

func (e explained) Set(s string) error {
	if err := e.Value.Set(s); err != nil {
		return errors.New("want " + e.kind)
	}
	return nil
}

func (e explained) Get() any { return flagValue(&flag.Flag{Value: e.Value}) }

// IsBoolFlag keeps --debug meaning --debug=true.
func (e explained) IsBoolFlag() bool {
	b, ok := e.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// kindOf says what a flag's value must look like, for an error message.
func kindOf(f *flag.Flag) string {
	switch flagValue(f).(type) {
	case bool:
		return "true or false"
	case time.Duration:
		return "a duration such as 500ms, 30s, 5m or 24h"
	case int, int64:
		return "a whole number"
	case uint, uint64:
		return "a whole number, not negative"
	case float64:
		return "a number"
	}
	return "a valid value"
}

// serveUsage is `livechat serve -h`: every flag with its environment
// variable and default.
func serveUsage() string {
	var b strings.Builder
	b.WriteString("usage: livechat serve [flags]\n\n" +
		"Each flag can also be set by the environment variable shown (a flag wins\n" +
		"over the environment, which wins over a .env file in the working directory).\n" +
		"An invalid value stops the start.\n\n")
	var c serveConfig
	c.flagSet().VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		if _, isBool := flagValue(f).(bool); isBool {
			kind = ""
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  --%s %s\n    \t%s\n    \t[%s, default %s]\n", f.Name, kind, usage, envName(f.Name), def)
	})
	return b.String()
}

// components splits the configuration into each component's Config.
func (c serveConfig) components() (actors.Config, api.Config) {
	return actors.Config{
			RoomIdleTimeout: c.roomIdle,
			StrikeBurst:     c.strikeBurst,
			PresenceGrace:   c.presenceGrace,
			ReceiptInterval: c.receiptInterval,
			MaxRoomMembers:  c.maxRoomMembers,
			MaxHeldBytes:    c.maxOutbound,
			TypingTimeout:   c.typingTimeout,
		}, api.Config{
			AccessTTL:        c.accessTTL,
			RefreshTTL:       c.refreshTTL,
			AllowedHosts:     splitList(c.allowedHosts),
			CORSOrigins:      splitList(c.corsOrigins),
			WSOrigins:        splitList(c.wsOrigin),
			SecureCookie:     c.secureCookie,
			Debug:            c.debug,
			MaxBodyBytes:     c.maxBody,
			MaxHeaderBytes:   c.maxHeader,
			MaxMessageChars:  c.maxMessageChars,
			MaxFrameBytes:    c.maxFrame,
			MaxOutboundBytes: c.maxOutbound,
			MaxConnections:   c.maxConns,
			MaxUserSockets:   c.maxUserSockets,
			MaxConnsPerIP:    c.maxConnsPerIP,
			HeaderTimeout:    c.headerTimeout,
			KeepAliveTimeout: c.keepAliveTimeout,
			ClientPingRate:   c.clientPingRate,
			ClientPingBurst:  c.clientPingBurst,
			PingInterval:     c.pingInterval,
			WriteDelay:       writeDelay(c.writeDelay),
			IdleTimeout:      c.idleTimeout,
			MessageRate:      c.messageRate,
			MessageBurst:     c.messageBurst,
			TypingRate:       c.typingRate,
			ReadRate:         c.readRate,
			RoomRate:         c.roomRate,
			MemberAddRate:    c.memberAddRate,
			RegisterRate:     c.registerRate,
			MaxAvatarBytes:   c.maxAvatarBytes,
			AvatarRate:       c.avatarRate,
			LoginRate:        c.loginRate,
			BcryptCost:       c.bcryptCost,
		}
}

// writeDelay is --write-delay for api.Config, whose zero means the
// default period: a delay of 0 means no wait, as a negative one does.
func writeDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
