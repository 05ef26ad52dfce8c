package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFormatter runs go test -json on a fixture module (a package that
// passes with a skip, one that fails, one without tests) through the
// formatter.
func TestFormatter(t *testing.T) {
	cmd := exec.Command("go", "test", "-count=1", "-json", "./...")
	cmd.Dir = "testdata/fixture"
	raw, _ := cmd.Output() // fails: the fixture has a failing test
	var out bytes.Buffer
	f := &formatter{out: &out, begin: time.Now(), pkgs: map[string]*pkgState{}}
	for _, l := range bytes.Split(raw, []byte("\n")) {
		if len(l) > 0 {
			f.handle(l)
		}
	}
	code := f.summary()
	got := out.String()
	t.Logf("formatted:\n%s", got)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		"ok  \tfixture/a\t", "(1 skipped: TestSkip)",
		"FAIL\tfixture/b\t",
		"--- FAIL: TestFail/sub", "boom: the detail",
		"?   \tfixture/c\t[no test files]",
		"1 packages passed, 1 failed, 5 tests, 1 skipped",
		"SKIPPED: these tests did not run\n  SKIP fixture/a TestSkip: /usr/bin/chromium is missing\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, unwanted := range []string{"=== RUN", "not shown", "\nPASS\n", "\nFAIL\n"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q", unwanted)
		}
	}
	// What .ci/run counts.
	var ok, fail int
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "ok ") {
			ok++
		}
		if strings.HasPrefix(l, "FAIL\t") {
			fail++
		}
	}
	if ok != 1 || fail != 1 {
		t.Errorf("%d ok lines and %d FAIL lines, want 1 and 1", ok, fail)
	}
}

// TestFormatterHeartbeat: while nothing finishes, a line says what runs.
func TestFormatterHeartbeat(t *testing.T) {
	var out bytes.Buffer
	begin := time.Now()
	f := &formatter{out: &out, begin: begin, lastDone: begin, pkgs: map[string]*pkgState{}}
	f.heartbeat(begin.Add(25*time.Second), 20*time.Second)
	if !strings.Contains(out.String(), "... 25s: compiling") {
		t.Errorf("before any package: %q", out.String())
	}
	out.Reset()
	f.handle([]byte(`{"Action":"start","Package":"livechat/api"}`))
	f.handle([]byte(`{"Action":"run","Package":"livechat/api","Test":"TestSlow"}`))
	f.heartbeat(time.Now().Add(10*time.Second), 20*time.Second)
	if out.Len() != 0 {
		t.Errorf("a line before -every passed: %q", out.String())
	}
	f.heartbeat(time.Now().Add(50*time.Second), 20*time.Second)
	if got := out.String(); !strings.Contains(got, "running livechat/api for 50s [TestSlow 50s]") || strings.HasPrefix(got, "ok") || strings.HasPrefix(got, "FAIL") {
		t.Errorf("heartbeat %q", got)
	}
	f.handle([]byte(`{"Action":"pass","Package":"livechat/api","Test":"TestSlow"}`))
	f.handle([]byte(`{"Action":"output","Package":"livechat/api","Output":"ok  \tlivechat/api\t50.1s\n"}`))
	f.handle([]byte(`{"Action":"pass","Package":"livechat/api"}`))
	if code := f.summary(); code != 0 || !strings.Contains(out.String(), "ok  \tlivechat/api\t50.1s\n") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}
