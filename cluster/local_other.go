//go:build !linux

package cluster

import "syscall"

// LocalProcAttr is how a process that runs local nodes starts them: in a
// process group of their own, so that a terminal's Ctrl-C reaches only
// the parent (which stops them in order). Without Linux's parent-death
// signal, nodes outlive a parent killed with SIGKILL.
func LocalProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
