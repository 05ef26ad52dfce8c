package persistence

import "golang.org/x/sys/unix"

// canReclaim reports whether mapped pages can be given back here.
const canReclaim = true

// reclaim asks the kernel to reclaim the resident pages of a table's
// memory map now, as it would under memory pressure (MADV_PAGEOUT, Linux
// 5.4): the mapping stays valid and a page touched again is read back from
// the file. Unlike MADV_DONTNEED it never discards data, so a table unmapped
// meanwhile, whose addresses something else may now use, is left intact.
// The advice is best effort: older kernels refuse it.
func reclaim(t mapping) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, t.start, t.end-t.start, unix.MADV_PAGEOUT)
}
