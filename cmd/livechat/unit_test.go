package main

import (
	"bufio"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit checks livechat.service against the server it runs: the
// settings it passes exist, its open-file limit covers the reserve with
// room for the default socket cap, a configuration error (exit 2) is not
// retried, and the sandbox is there. systemd-analyze verifies the file
// where it is installed.
func TestSystemdUnit(t *testing.T) {
	const path = "livechat.service"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	one := func(key string) string {
		if len(unit[key]) != 1 {
			t.Errorf("%s: %q, want one value", key, unit[key])
			return ""
		}
		return unit[key][0]
	}
	for key, want := range map[string]string{
		"Restart": "on-failure", "RestartPreventExitStatus": "2", "DynamicUser": "yes", "StateDirectory": "livechat",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "CapabilityBoundingSet": "", "KillSignal": "SIGTERM", "UMask": "0077",
	} {
		if got := one(key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	if n, err := strconv.Atoi(one("LimitNOFILE")); err != nil || n < 100_000+fdReserve {
		t.Errorf("LimitNOFILE=%d (%v): want room for the default 100000 sockets and the reserve of %d", n, err, fdReserve)
	}
	if !strings.HasSuffix(one("ExecStart"), "/livechat serve") {
		t.Errorf("ExecStart=%s", one("ExecStart"))
	}
	known := map[string]bool{}
	var c serveConfig
	c.flagSet().VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	for _, kv := range unit["Environment"] {
		name, value, _ := strings.Cut(kv, "=")
		if !known[name] {
			t.Errorf("Environment=%s: not a setting of livechat serve", kv)
		}
		if name == "LIVECHAT_DATA_DIR" && value != "/var/lib/"+one("StateDirectory") {
			t.Errorf("the data directory %s is not the StateDirectory", value)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit file was not verified")
	}
	// verify wants ExecStart to exist: point it at this test binary.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	copyPath := filepath.Join(t.TempDir(), "livechat.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(text), "/usr/local/bin/livechat", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
