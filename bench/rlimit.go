package bench

import (
	"fmt"
	"syscall"
)

// FileLimit is the open-files limit (RLIMIT_NOFILE) of the load generator.
type FileLimit struct {
	// Soft is the limit in force after raising it.
	Soft uint64 `json:"soft"`
	// Hard is the ceiling the soft limit can be raised to without privileges.
	Hard uint64 `json:"hard"`
	// Raised reports whether the soft limit was raised at start.
	Raised bool `json:"raised"`
}

// RaiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit, so one
// process may open as many sockets as it is allowed, and returns the limit
// in force.
func RaiseFileLimit() (FileLimit, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return FileLimit{}, fmt.Errorf("bench: get RLIMIT_NOFILE: %w", err)
	}
	fl := FileLimit{Soft: rl.Cur, Hard: rl.Max}
	if rl.Cur >= rl.Max {
		return fl, nil
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fl, fmt.Errorf("bench: raise RLIMIT_NOFILE to %d: %w", rl.Max, err)
	}
	fl.Soft, fl.Raised = rl.Max, true
	return fl, nil
}

// fdReserve is how many descriptors a process keeps for everything but
// sockets to the server (stdio, REST pool, /proc reads, the runtime).
const fdReserve = 200

// socketBudget is how many sockets one process may open under fl.
func (fl FileLimit) socketBudget() int {
	if fl.Soft > 1<<30 {
		return 1 << 30
	}
	return max(int(fl.Soft)-fdReserve, 0)
}
