package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// errProcFormat reports a /proc file that does not have the expected shape.
var errProcFormat = errors.New("bench: unexpected /proc format")

// procSample is one reading of a process's resource use.
type procSample struct {
	At  time.Time
	CPU time.Duration // user + system CPU time since the process started
	RSS int64         // resident set size, bytes
	// Anon and File split RSS: anonymous memory (the heap, stacks) and
	// pages of files mapped from disk, which the kernel may reclaim;
	// both 0 when the kernel does not report them.
	Anon, File int64
	FDs        int // open file descriptors; -1 when unreadable
}

// readProc samples process pid from /proc.
func readProc(pid int) (procSample, error) {
	s := procSample{At: time.Now(), FDs: -1}
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return s, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, fmt.Errorf("read status of %d: %w", pid, err)
	}
	if s.RSS, err = parseStatusRSS(status); err != nil {
		return s, err
	}
	s.Anon, s.File = parseStatusKB(status, "RssAnon:"), parseStatusKB(status, "RssFile:")
	if ents, err := os.ReadDir(dir + "/fd"); err == nil {
		s.FDs = len(ents)
	}
	return s, nil
}

// parseStatCPU returns utime + stime (fields 14 and 15) of a /proc/PID/stat
// line. The command name (field 2) may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat: no command name: %w", errProcFormat)
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields: %w", len(f), errProcFormat)
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: cpu times: %w", err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// parseStatusRSS returns VmRSS of a /proc/PID/status file, in bytes.
func parseStatusRSS(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("status: VmRSS %q: %w", rest, errProcFormat)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status: VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("status: no VmRSS (a kernel thread or a zombie?): %w", errProcFormat)
}

// parseStatusKB returns the "Name: 123 kB" line of a /proc/PID/status file
// in bytes, or 0 when it is missing or malformed.
func parseStatusKB(b []byte, name string) int64 {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// readMaxOpenFiles returns the soft "Max open files" of process pid.
func readMaxOpenFiles(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0, fmt.Errorf("read limits of %d: %w", pid, err)
	}
	return parseLimitsNoFile(b)
}

// parseLimitsNoFile returns the soft limit of the "Max open files" line of
// a /proc/PID/limits file; -1 means unlimited.
func parseLimitsNoFile(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("Max open files"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 2 {
			break
		}
		if string(f[0]) == "unlimited" {
			return -1, nil
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("limits: max open files: %w", err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("limits: no max open files line: %w", errProcFormat)
}
