//go:build !unix

package inroot

// openFlags: elsewhere there are no FIFOs to block on, and the file was
// resolved just before.
const openFlags = 0
