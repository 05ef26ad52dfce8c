package persistence

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdatasync is fdatasync(2) of f. raw makes it a raw system call: the
// goroutine keeps its processor (P) while the disk works, instead of
// entering the Go scheduler's system-call state, whose first use after
// the server went idle wakes the runtime's monitor thread and sets it
// polling every 20 µs until the call returns (api/conn_now_linux.go does
// the same for socket reads and writes). Kept for a quiet server only:
// while the disk works, that P runs nothing else.
func fdatasync(f *os.File, raw bool) error {
	fd := f.Fd()
	for {
		var e syscall.Errno
		if raw {
			_, _, e = syscall.RawSyscall(unix.SYS_FDATASYNC, fd, 0, 0)
		} else {
			_, _, e = syscall.Syscall(unix.SYS_FDATASYNC, fd, 0, 0)
		}
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return e
		}
	}
}

// stamp is the directory's modification time in nanoseconds, 0 when it
// cannot be read; a raw fstat(2), which the inode in memory answers.
func (d *walDir) stamp() int64 {
	var st syscall.Stat_t
	_, _, e := syscall.RawSyscall(unix.SYS_FSTAT, d.f.Fd(), uintptr(unsafe.Pointer(&st)), 0)
	if e != 0 {
		return 0
	}
	return st.Mtim.Sec*1e9 + st.Mtim.Nsec
}
