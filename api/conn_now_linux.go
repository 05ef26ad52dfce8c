package api

import (
	"syscall"
	"unsafe"
)

// rawWriteMax is the largest write made without telling the Go scheduler.
// A write to a non-blocking socket never waits, but the kernel does the
// receiving end's work of a loopback or LAN socket inline; 64 KiB of that
// is tens of microseconds, short enough to hold the thread's P.
const rawWriteMax = 64 << 10

// sockWrite is write(2) without entering the scheduler's system-call state.
// syscall.Write marks the goroutine's P as in a system call; the runtime's
// monitor thread, seeing Ps there often, keeps waking every 20 µs and
// hands such Ps to other threads, which it has to wake: at thousands of
// one-frame writes a second that was more CPU than the writes' own
// user-space work. A write that cannot block needs none of it.
func sockWrite(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawSyscalls says that sockets are read and written with sockRead and
// sockWrite.
const rawSyscalls = true

// sockRead is read(2) without entering the scheduler's system-call state,
// for the reasons of sockWrite: a socket's reader calls it only when Go's
// poller says there are bytes (or once first to see), and on a non-blocking
// socket it never waits.
func sockRead(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
