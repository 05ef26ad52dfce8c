//go:build !linux

package persistence

import "os"

// fdatasync syncs f; raw system calls are used on Linux only.
func fdatasync(f *os.File, _ bool) error { return f.Sync() }

// nextFile is the name of a file that does not exist yet.
type nextFile struct{ path string }

func newNextFile(path string) (nextFile, error) { return nextFile{path}, nil }

// exists reports whether the file exists now.
func (n nextFile) exists() bool {
	_, err := os.Stat(n.path)
	return err == nil
}
