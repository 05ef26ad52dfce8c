package cluster

import "syscall"

// LocalProcAttr is how a process that runs local nodes starts them: in a
// process group of their own, so that a terminal's Ctrl-C reaches only
// the parent (which stops them in order), and sent SIGTERM if the parent
// dies first, so that no node outlives it.
func LocalProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
