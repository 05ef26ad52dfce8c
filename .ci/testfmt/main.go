// Command testfmt turns `go test -json` into what `go test` prints, as each
// package finishes rather than in package order, with a line every
// -every while nothing finishes (what is still compiling or running, and
// for how long), and a summary that lists every skipped test with its
// reason. It exits 1 when a package failed or nothing was tested.
//
//	go test -race -json ./... 2>&1 | go run ./.ci/testfmt
//
// Package lines keep go test's shape ("ok  \tpkg\t1.2s", "FAIL\tpkg\t...")
// for scripts that count them.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Output     string
}

type line struct{ test, text string }

type pkgState struct {
	started time.Time
	running map[string]time.Time // test -> since
	lines   []line               // output in arrival order
	failed  map[string]bool
	skipped []string // "Test: reason"
}

type formatter struct {
	mu       sync.Mutex
	out      io.Writer
	begin    time.Time
	pkgs     map[string]*pkgState
	passed   []string
	failed   []string
	skipped  []string // "pkg Test: reason"
	tests    int
	lastDone time.Time
}

func main() {
	every := flag.Duration("every", 20*time.Second, "report what is still running after this long without a finished package")
	flag.Parse()
	f := &formatter{out: os.Stdout, begin: time.Now(), pkgs: map[string]*pkgState{}}
	f.lastDone = f.begin
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				f.heartbeat(now, *every)
			}
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		f.handle(sc.Bytes())
	}
	close(stop)
	os.Exit(f.summary())
}

func (f *formatter) handle(raw []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ev event
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &ev) != nil {
		fmt.Fprintf(f.out, "%s\n", raw) // go's own messages (2>&1)
		return
	}
	switch ev.Action {
	case "build-output":
		fmt.Fprint(f.out, ev.Output)
		return
	case "build-fail":
		return // the package's fail event follows
	}
	p := f.pkgs[ev.Package]
	if p == nil {
		p = &pkgState{started: time.Now(), running: map[string]time.Time{}, failed: map[string]bool{}}
		f.pkgs[ev.Package] = p
	}
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			p.lines = append(p.lines, line{text: ev.Output})
		case "pass", "fail", "skip":
			f.finish(ev.Package, p, ev.Action)
		}
		return
	}
	switch ev.Action {
	case "run", "cont":
		p.running[ev.Test] = time.Now()
	case "pause":
		delete(p.running, ev.Test)
	case "output":
		p.lines = append(p.lines, line{test: ev.Test, text: ev.Output})
	case "pass", "fail", "skip":
		delete(p.running, ev.Test)
		f.tests++
		if ev.Action == "fail" {
			p.failed[ev.Test] = true
		}
		if ev.Action == "skip" {
			p.skipped = append(p.skipped, ev.Test+": "+skipReason(p.lines, ev.Test))
		}
	}
}

// skipReason is what the test logged, without go test's own lines.
func skipReason(lines []line, test string) string {
	var reason []string
	for _, l := range lines {
		t := strings.TrimSpace(l.text)
		if l.test != test || t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		// "browser_test.go:214: message" -> "message"
		if _, msg, ok := strings.Cut(t, ": "); ok && strings.Contains(t[:strings.Index(t, ": ")], ".go:") {
			t = msg
		}
		reason = append(reason, t)
	}
	if len(reason) == 0 {
		return "(no reason given)"
	}
	return strings.Join(reason, " / ")
}

// finish prints a package's result as go test would: the output of its
// failed tests, then its line.
func (f *formatter) finish(pkg string, p *pkgState, action string) {
	f.lastDone = time.Now()
	delete(f.pkgs, pkg)
	var summary string
	for _, l := range p.lines {
		if l.test == "" {
			switch t := l.text; {
			case strings.HasPrefix(t, "ok "), strings.HasPrefix(t, "FAIL\t"), strings.HasPrefix(t, "?   "):
				summary = strings.TrimRight(t, "\n")
			case t == "PASS\n", t == "FAIL\n":
			default:
				if action == "fail" {
					fmt.Fprint(f.out, t)
				}
			}
			continue
		}
		if p.failed[l.test] && !strings.HasPrefix(l.text, "=== ") {
			fmt.Fprint(f.out, l.text)
		}
	}
	switch action {
	case "pass":
		f.passed = append(f.passed, pkg)
	case "fail":
		f.failed = append(f.failed, pkg)
		if summary == "" {
			summary = "FAIL\t" + pkg
		}
	}
	if summary == "" {
		return
	}
	if len(p.skipped) > 0 {
		names := make([]string, len(p.skipped))
		for i, s := range p.skipped {
			names[i], _, _ = strings.Cut(s, ": ")
			f.skipped = append(f.skipped, pkg+" "+s)
		}
		summary += fmt.Sprintf("  (%d skipped: %s)", len(names), strings.Join(names, ", "))
	}
	fmt.Fprintln(f.out, summary)
}

// heartbeat says what is going on when nothing has finished for a while.
func (f *formatter) heartbeat(now time.Time, every time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.lastDone) < every {
		return
	}
	f.lastDone = now
	var parts []string
	for pkg, p := range f.pkgs {
		var tests []string
		for name, since := range p.running {
			tests = append(tests, fmt.Sprintf("%s %s", name, now.Sub(since).Round(time.Second)))
		}
		sort.Strings(tests)
		s := fmt.Sprintf("%s for %s", pkg, now.Sub(p.started).Round(time.Second))
		if len(tests) > 0 {
			s += " [" + strings.Join(tests, ", ") + "]"
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	done := len(f.passed) + len(f.failed)
	if len(parts) == 0 {
		fmt.Fprintf(f.out, "... %s: compiling (race detector on; the first run builds every dependency), %d packages done\n",
			now.Sub(f.begin).Round(time.Second), done)
		return
	}
	fmt.Fprintf(f.out, "... %s: %d packages done, running %s\n", now.Sub(f.begin).Round(time.Second), done, strings.Join(parts, "; "))
}

// summary prints the totals and every skip, and is the exit code.
func (f *formatter) summary() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for pkg := range f.pkgs { // ended without a result: go test was killed
		f.failed = append(f.failed, pkg)
		fmt.Fprintf(f.out, "FAIL\t%s\t(no result)\n", pkg)
	}
	fmt.Fprintf(f.out, "\n%d packages passed, %d failed, %d tests, %d skipped, in %s\n",
		len(f.passed), len(f.failed), f.tests, len(f.skipped), time.Since(f.begin).Round(time.Second))
	if len(f.skipped) > 0 {
		fmt.Fprintf(f.out, "\nSKIPPED: these tests did not run\n")
		for _, s := range f.skipped {
			fmt.Fprintf(f.out, "  SKIP %s\n", s)
		}
	}
	if len(f.failed) > 0 || len(f.passed) == 0 {
		return 1
	}
	return 0
}
