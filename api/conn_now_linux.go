package api

import (
	"syscall"
	"unsafe"
)

// rawSyscalls says that sockets are read and written with sockRead and
// sockWrite.
const rawSyscalls = true

// rawMax is the most bytes a raw read or write moves; a larger one is an
// ordinary system call. Even without waiting, the kernel does the
// receiving end's work of a loopback or LAN write inline; 64 KiB of that is
// tens of microseconds, short enough to hold the thread's P.
const rawMax = 64 << 10

// sockWrite is write(2) without entering the Go scheduler's system-call
// state, for a non-blocking socket, which never waits. A server that goes
// idle between messages puts the runtime's monitor thread into a deep
// sleep; the first ordinary system call after that wakes it and sets it
// polling every 20 µs again, for a millisecond or more. With a socket
// write or read per delivery that polling was most of the server's context
// switches; raw calls leave the monitor asleep.
func sockWrite(fd uintptr, b []byte) (int, error) {
	if len(b) > rawMax {
		return syscall.Write(int(fd), b)
	}
	return rawIO(syscall.SYS_WRITE, fd, b)
}

// sockRead is read(2) as sockWrite is write(2): a socket's reader calls it
// when Go's poller reports bytes (or once, to see), and a non-blocking
// socket never waits.
func sockRead(fd uintptr, b []byte) (int, error) {
	if len(b) > rawMax {
		return syscall.Read(int(fd), b)
	}
	return rawIO(syscall.SYS_READ, fd, b)
}

// rawIO is read(2) or write(2) of b, not empty, as a raw system call.
func rawIO(trap, fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// sockPending reports whether a read of the socket would not wait: it
// has bytes, has ended, or has failed. It peeks at one byte and takes
// none.
func sockPending(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			return e != syscall.EAGAIN
		}
	}
}
