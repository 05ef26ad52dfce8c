//go:build !linux

package persistence

import "os"

// fdatasync syncs f; raw system calls are used on Linux only.
func fdatasync(f *os.File, _ bool) error { return f.Sync() }

// walDir is Badger's directory; without inotify every sync lists it.
type walDir struct{ f *os.File }

func openWALDir(dir string) (walDir, error) {
	f, err := os.Open(dir)
	return walDir{f: f}, err
}

// changed reports that Badger may have created a file: always, here.
func (d *walDir) changed() bool { return true }

func (d *walDir) close() { _ = d.f.Close() }
