//go:build unix && !linux

package api

import "syscall"

// rawSyscalls is false where Go makes system calls through the C library:
// sockets are read and written as net.Conn does.
const rawSyscalls = false

func sockWrite(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }

func sockRead(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }

// sockPending reports whether a read of the socket would not wait; the
// reader asks it only with raw system calls (rawSyscalls).
func sockPending(uintptr) bool { return true }
