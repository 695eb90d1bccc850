//go:build unix

package inroot

import "syscall"

// openFlags open a file that was resolved as a regular file without
// following a symlink in its place or blocking on a FIFO.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
