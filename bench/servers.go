package bench

import (
	"errors"
	"fmt"
	"time"
)

// serverPIDs are the nodes' process ids, by node; 0 where unknown.
func (e *environment) serverPIDs() []int {
	pids := make([]int, len(e.nodes))
	for i, n := range e.nodes {
		pids[i] = n.PID
	}
	return pids
}

// hasPID reports whether any pid is known.
func hasPID(pids []int) bool {
	for _, p := range pids {
		if p > 0 {
			return true
		}
	}
	return false
}

// readProcs samples every known pid: each is by pid (zero where the pid
// is unknown or unreadable) and sum adds up those read, open files
// included (-1 when none was readable). err says which could not be read:
// a server that died.
func readProcs(pids []int) (sum procSample, each []procSample, err error) {
	sum = procSample{At: time.Now(), FDs: -1}
	each = make([]procSample, len(pids))
	var errs []error
	for i, pid := range pids {
		if pid <= 0 {
			continue
		}
		ps, err := readProc(pid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		each[i] = ps
		sum.CPU += ps.CPU
		sum.RSS += ps.RSS
		sum.Anon += ps.Anon
		sum.File += ps.File
		if ps.FDs >= 0 {
			sum.FDs = max(sum.FDs, 0) + ps.FDs
		}
	}
	if len(errs) > 0 {
		return sum, each, fmt.Errorf("bench: read servers' /proc: %w", errors.Join(errs...))
	}
	return sum, each, nil
}
