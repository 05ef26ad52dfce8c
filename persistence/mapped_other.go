//go:build !linux

package persistence

// canReclaim reports whether mapped pages can be given back here: only
// Linux has /proc/self/smaps and MADV_PAGEOUT.
const canReclaim = false

func reclaim(mapping) {}
