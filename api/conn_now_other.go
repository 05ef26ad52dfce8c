//go:build !unix

package api

import "errors"

var errNotNow = errors.New("api: write at once not supported")

// tryWrite writes nothing on systems without non-blocking raw writes: the
// writer goroutine writes everything.
func tryWrite(uintptr, []byte) (int, error) { return 0, errNotNow }

func retryLater(err error) bool { return errors.Is(err, errNotNow) }

const rawSyscalls = false

func sockRead(uintptr, []byte) (int, error) { return 0, errNotNow }

func sockPending(uintptr) bool { return true }
