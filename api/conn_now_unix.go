//go:build unix

package api

import (
	"errors"
	"syscall"
)

// tryWrite writes b to the socket fd without waiting (Go's sockets are
// non-blocking): it returns what the kernel took.
func tryWrite(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return sockWrite(fd, b)
}

// retryLater reports a write error that only means "not now".
func retryLater(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR)
}
