//go:build unix && !linux

package api

import "syscall"

// rawWriteMax is 0 where the raw system call is not used: on systems
// other than Linux, Go makes system calls through the C library.
const rawWriteMax = 0

func sockWrite(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }

const rawSyscalls = false

func sockRead(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }
