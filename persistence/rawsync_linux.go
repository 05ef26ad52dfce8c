package persistence

import (
	"bytes"
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

// walDir is Badger's directory, watched with inotify for the files Badger
// creates.
type walDir struct {
	f      *os.File
	notify int // the inotify descriptor; -1 without inotify: every sync lists
	events []byte
}

// openWALDir opens dir and starts watching it: before the first listing,
// so that no file created after that listing goes unseen.
func openWALDir(dir string) (walDir, error) {
	f, err := os.Open(dir)
	if err != nil {
		return walDir{}, err
	}
	d := walDir{f: f, notify: -1}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return d, nil // out of inotify instances: list every sync
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR); err != nil {
		_ = unix.Close(fd)
		return d, nil
	}
	d.notify, d.events = fd, make([]byte, 4096)
	return d, nil
}

// changed reports whether Badger may have created a memtable or value log
// file since the last call: an event naming one, or events lost to a full
// queue. The events are read with raw read(2) from a non-blocking
// descriptor, which answers at once.
func (d *walDir) changed() bool {
	if d.notify < 0 {
		return true
	}
	found := false
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(d.notify), uintptr(unsafe.Pointer(&d.events[0])), uintptr(len(d.events)))
		switch {
		case e == syscall.EAGAIN:
			return found
		case e == syscall.EINTR:
			continue
		case e != 0 || n == 0:
			return true
		}
		for off := 0; off+unix.SizeofInotifyEvent <= int(n); {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&d.events[off]))
			name := d.events[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			name = bytes.TrimRight(name, "\x00")
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 || bytes.HasSuffix(name, []byte(".mem")) || bytes.HasSuffix(name, []byte(".vlog")) {
				found = true
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

func (d *walDir) close() {
	_ = d.f.Close()
	if d.notify >= 0 {
		_ = unix.Close(d.notify)
	}
}
