package bench

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS < 1<<20 || s.FDs < 3 || s.CPU < 0 {
		t.Fatalf("implausible sample %+v", s)
	}
	n, err := readMaxOpenFiles(os.Getpid())
	if err != nil || (n < 3 && n != -1) {
		t.Fatalf("max open files %d %v", n, err)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Fatal("no error for a missing process")
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses, utime 250, stime 150.
	line := "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 8 0 12345 1000000 500 18446744073709551615\n"
	cpu, err := parseStatCPU([]byte(line))
	if err != nil || cpu != 4*time.Second {
		t.Fatalf("cpu %v %v", cpu, err)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1 2")); !errors.Is(err, errProcFormat) {
		t.Fatalf("short line: %v", err)
	}
}

func TestParseStatusRSS(t *testing.T) {
	rss, err := parseStatusRSS([]byte("Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t4\n"))
	if err != nil || rss != 1234*1024 {
		t.Fatalf("rss %d %v", rss, err)
	}
	if _, err := parseStatusRSS([]byte("Name:\tkthreadd\n")); !errors.Is(err, errProcFormat) {
		t.Fatalf("no VmRSS: %v", err)
	}
}

// RSS splits into anonymous memory and mapped files; a kernel that does not
// report them gives 0.
func TestParseStatusRSSSplit(t *testing.T) {
	status := []byte("VmRSS:\t    1234 kB\nRssAnon:\t     1000 kB\nRssFile:\t      200 kB\nRssShmem:\t       34 kB\n")
	if anon, file := parseStatusKB(status, "RssAnon:"), parseStatusKB(status, "RssFile:"); anon != 1000*1024 || file != 200*1024 {
		t.Fatalf("anon %d, file %d", anon, file)
	}
	if got := parseStatusKB([]byte("VmRSS:\t 1 kB\n"), "RssAnon:"); got != 0 {
		t.Fatalf("missing RssAnon: %d", got)
	}
}

func TestParseLimitsNoFile(t *testing.T) {
	b := []byte("Limit                     Soft Limit           Hard Limit           Units\n" +
		"Max processes             127000               127000               processes\n" +
		"Max open files            20000                20000                files\n")
	if n, err := parseLimitsNoFile(b); err != nil || n != 20000 {
		t.Fatalf("%d %v", n, err)
	}
	if n, _ := parseLimitsNoFile([]byte("Max open files unlimited unlimited files\n")); n != -1 {
		t.Fatalf("unlimited: %d", n)
	}
}

func TestRaiseFileLimit(t *testing.T) {
	fl, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if fl.Soft != fl.Hard || fl.socketBudget() <= 0 {
		t.Fatalf("limit %+v budget %d", fl, fl.socketBudget())
	}
}
