//go:build !linux

package persistence

import "os"

// fdatasync syncs f; raw system calls are used on Linux only.
func fdatasync(f *os.File, _ bool) error { return f.Sync() }

// stamp is the directory's modification time in nanoseconds, 0 when it
// cannot be read.
func (d *walDir) stamp() int64 {
	st, err := d.f.Stat()
	if err != nil {
		return 0
	}
	return st.ModTime().UnixNano()
}
