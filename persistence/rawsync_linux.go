package persistence

import (
	"os"
	"runtime"
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

// nextFile is the name of a file that does not exist yet.
type nextFile struct{ path []byte } // NUL-terminated

func newNextFile(path string) (nextFile, error) {
	b, err := syscall.ByteSliceFromString(path)
	return nextFile{b}, err
}

// exists asks with a raw faccessat(2), which the dentry cache answers
// without waiting, whether the file exists now.
func (n nextFile) exists() bool {
	cwd := unix.AT_FDCWD
	_, _, e := syscall.RawSyscall6(unix.SYS_FACCESSAT, uintptr(cwd), uintptr(unsafe.Pointer(&n.path[0])), unix.F_OK, 0, 0, 0)
	runtime.KeepAlive(n.path)
	return e == 0
}
