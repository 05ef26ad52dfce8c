package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeEnv is a getenv over a map.
func fakeEnv(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) string { return m[name] }
}

const longSecret = "0123456789abcdef0123456789abcdef" // 32 bytes

func TestServeFlagsFromEnvironment(t *testing.T) {
	cfg, err := parseServeFlags(nil, fakeEnv(
		"LIVECHAT_MAX_BODY", "1000",
		"LIVECHAT_IN_MEMORY", "true", // no variable before every flag had one
		"LIVECHAT_BCRYPT_COST", "12",
		"LIVECHAT_WRITE_DELAY", "-1ms", // negative is documented: no write clock
		"LIVECHAT_MESSAGE_RATE", "2.5",
		"LIVECHAT_DATA_DIR", "/srv/chat",
		"SECRET_KEY", longSecret,
		"ALLOWED_HOSTS", "chat.example.com",
		"DEBUG", "True",
	))
	if err != nil {
		t.Fatal(err)
	}
	want := serveConfig{maxBody: 1000, inMemory: true, bcryptCost: 12, writeDelay: -time.Millisecond, messageRate: 2.5,
		dataDir: "/srv/chat", secret: longSecret, allowedHosts: "chat.example.com", debug: true}
	got := serveConfig{maxBody: cfg.maxBody, inMemory: cfg.inMemory, bcryptCost: cfg.bcryptCost, writeDelay: cfg.writeDelay, messageRate: cfg.messageRate,
		dataDir: cfg.dataDir, secret: cfg.secret, allowedHosts: cfg.allowedHosts, debug: cfg.debug}
	if got != want {
		t.Errorf("from the environment:\n got %+v\nwant %+v", got, want)
	}
	if cfg.maxHeader != 8<<10 || cfg.durability != "fsync" {
		t.Errorf("unset variables changed defaults: max-header %d, durability %q", cfg.maxHeader, cfg.durability)
	}

	// A boolean flag needs no value.
	cfg, err = parseServeFlags([]string{"--debug", "--in-memory"}, fakeEnv())
	if err != nil || !cfg.debug || !cfg.inMemory {
		t.Errorf("--debug --in-memory: debug %v, in-memory %v, err %v", cfg.debug, cfg.inMemory, err)
	}

	// A flag wins over its variable, even over an invalid one.
	cfg, err = parseServeFlags([]string{"--max-body", "2000", "--durability", "os"}, fakeEnv("LIVECHAT_MAX_BODY", "1000", "LIVECHAT_DURABILITY", "bogus"))
	if err != nil || cfg.maxBody != 2000 || cfg.durability != "os" {
		t.Errorf("flags over environment: max-body %d, durability %q, err %v", cfg.maxBody, cfg.durability, err)
	}
}

// TestServeFlagsRefuseInvalidValues: nothing invalid falls back to a
// default; the error names the variable or the flag that holds it.
func TestServeFlagsRefuseInvalidValues(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   []string
		wants []string // substrings of the error
	}{
		{"size not a number", nil, []string{"LIVECHAT_MAX_BODY", "abc"}, []string{`LIVECHAT_MAX_BODY="abc"`, "whole number"}},
		{"negative size", nil, []string{"LIVECHAT_MAX_BODY", "-5"}, []string{"LIVECHAT_MAX_BODY=-5", "at least 1"}},
		{"zero size", nil, []string{"LIVECHAT_MAX_OUTBOUND", "0"}, []string{"LIVECHAT_MAX_OUTBOUND=0", "at least 1"}},
		{"negative size flag", []string{"--max-outbound=-1"}, nil, []string{"--max-outbound -1", "at least 1"}},
		{"flag not a number", []string{"--max-body", "64k"}, nil, []string{"-max-body", "want a whole number"}},
		{"unknown durability", nil, []string{"LIVECHAT_DURABILITY", "paranoid"}, []string{"LIVECHAT_DURABILITY=paranoid", "fsync or os"}},
		{"bad duration", nil, []string{"LIVECHAT_SHUTDOWN_TIMEOUT", "soon"}, []string{"LIVECHAT_SHUTDOWN_TIMEOUT", "duration"}},
		{"negative duration", nil, []string{"LIVECHAT_SHUTDOWN_TIMEOUT", "-1s"}, []string{"LIVECHAT_SHUTDOWN_TIMEOUT=-1s", "negative"}},
		{"zero ttl", nil, []string{"LIVECHAT_ACCESS_TTL", "0s"}, []string{"LIVECHAT_ACCESS_TTL=0s", "above 0s"}},
		{"bad boolean", nil, []string{"DEBUG", "maybe"}, []string{`DEBUG="maybe"`, "true or false"}},
		{"zero presence grace", nil, []string{"LIVECHAT_PRESENCE_GRACE", "0"}, []string{"LIVECHAT_PRESENCE_GRACE=0", "above 0s"}},
		{"zero rate", nil, []string{"LIVECHAT_MESSAGE_RATE", "0"}, []string{"LIVECHAT_MESSAGE_RATE=0", "above 0"}},
		{"bcrypt cost low", []string{"--bcrypt-cost", "3"}, nil, []string{"--bcrypt-cost 3", "between 4 and 31"}},
		{"bcrypt cost high", nil, []string{"LIVECHAT_BCRYPT_COST", "32"}, []string{"LIVECHAT_BCRYPT_COST=32", "between 4 and 31"}},
		{"short secret", nil, []string{"SECRET_KEY", "django-insecure-short"}, []string{"SECRET_KEY (21 bytes)", "at least 32 bytes", "RFC 7518"}},
		{"short secret flag", []string{"--secret", "hunter2"}, nil, []string{"--secret (7 bytes)"}},
		{"stray argument", []string{"--debug", "yes"}, nil, []string{`unexpected argument "yes"`}},
		{"two at once", nil, []string{"LIVECHAT_MAX_BODY", "x", "LIVECHAT_MAX_HEADER", "y"}, []string{"LIVECHAT_MAX_BODY", "LIVECHAT_MAX_HEADER"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeFlags(tc.args, fakeEnv(tc.env...))
			if err == nil {
				t.Fatalf("accepted %v %v", tc.args, tc.env)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "django-insecure") {
				t.Errorf("the error shows the secret: %q", err)
			}
		})
	}
}

// TestServeFlagsDefaultsAreValid: a server started with no configuration
// passes its own checks, and every flag has its own variable.
func TestServeFlagsDefaultsAreValid(t *testing.T) {
	if _, err := parseServeFlags(nil, fakeEnv()); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	seen := map[string]string{}
	var c serveConfig
	c.flagSet().VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if other, dup := seen[name]; dup {
			t.Errorf("--%s and --%s share %s", f.Name, other, name)
		}
		seen[name] = f.Name
	})
	for flagName, want := range map[string]string{"max-body": "LIVECHAT_MAX_BODY", "max-user-sockets": "LIVECHAT_MAX_USER_SOCKETS", "data": "LIVECHAT_DATA_DIR", "secret": "SECRET_KEY"} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

// TestServeHelpShowsEnvironmentAndDefaults: `serve -h` shows, for every
// flag, its variable and its default.
func TestServeHelpShowsEnvironmentAndDefaults(t *testing.T) {
	if _, err := parseServeFlags([]string{"-h"}, fakeEnv()); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	help := serveUsage()
	var c serveConfig
	n := 0
	c.flagSet().VisitAll(func(f *flag.Flag) {
		n++
		i := strings.Index(help, "  --"+f.Name+" ")
		if i < 0 {
			t.Errorf("help does not list --%s", f.Name)
			return
		}
		entry, _, _ := strings.Cut(help[i:], "]\n")
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		if want := "[" + envName(f.Name) + ", default " + def; !strings.Contains(entry, want) {
			t.Errorf("help for --%s lacks %q:\n%s", f.Name, want, entry)
		}
	})
	for _, want := range []string{"[LIVECHAT_MAX_BODY, default 65536", "[SECRET_KEY, default \"\"", "[LIVECHAT_SHUTDOWN_TIMEOUT, default 15s"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if n < 29 {
		t.Errorf("only %d flags", n)
	}
}

func TestSocketCap(t *testing.T) {
	for _, tc := range []struct {
		maxConns int
		soft     uint64
		want     int
		err      bool
	}{
		{100_000, 1 << 20, 100_000, false},
		{100_000, 20_000, 20_000 - fdReserve, false},
		{10, 1024, 10, false},
		{100_000, fdReserve + 1, 1, false},
		{100_000, fdReserve, 0, true}, // no room for a single socket
		{100_000, 64, 0, true},
	} {
		got, err := socketCap(tc.maxConns, tc.soft)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("socketCap(%d, %d) = %d, %v; want %d, error %v", tc.maxConns, tc.soft, got, err, tc.want, tc.err)
		}
		if err != nil && (!strings.Contains(err.Error(), "open-file limit") || !strings.Contains(err.Error(), "LimitNOFILE")) {
			t.Errorf("error %q does not say which limit and how to raise it", err)
		}
	}
}

// TestReadmeListsEveryFlag: the README's Configuration and Limits tables
// name every flag with its environment variable.
func TestReadmeListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c serveConfig
	c.flagSet().VisitAll(func(f *flag.Flag) {
		for _, want := range []string{"`--" + f.Name + "`", "`" + envName(f.Name) + "`"} {
			if !bytes.Contains(readme, []byte(want)) {
				t.Errorf("README.md does not mention %s", want)
			}
		}
	})
}

// TestReadmeSectionsUnique: no two sections of the README share a title,
// so that each link to a section (#operations) reaches the one it means.
func TestReadmeSectionsUnique(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	fenced := false
	for line := range bytes.Lines(readme) {
		if bytes.HasPrefix(line, []byte("```")) {
			fenced = !fenced
		}
		if fenced || !bytes.HasPrefix(line, []byte("#")) {
			continue
		}
		title := string(bytes.TrimSpace(bytes.TrimLeft(line, "#")))
		if seen[title] {
			t.Errorf("README.md has two sections titled %q", title)
		}
		seen[title] = true
	}
}

// TestServeZeroWriteDelayMeansNone: --write-delay 0 is no wait, as the help
// says, not the component's default period.
func TestServeZeroWriteDelayMeansNone(t *testing.T) {
	cfg, err := parseServeFlags([]string{"--write-delay", "0"}, fakeEnv())
	if err != nil {
		t.Fatal(err)
	}
	_, ac := cfg.components()
	if d := ac.Defaults().WriteDelay; d > 0 {
		t.Fatalf("--write-delay 0 gives a write clock of %v, want none", d)
	}
}
