//go:build linux

package history

import "syscall"

// dropPages tells the kernel that the pages of a mapping of mapFile are
// not needed now: they leave the process's resident set (the file stays
// in the page cache) and come back on the next read. A walk over a long
// history reads the pack once, front to back, so it drops what it read.
func dropPages(data []byte) { _ = syscall.Madvise(data, syscall.MADV_DONTNEED) }
