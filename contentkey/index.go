package contentkey

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// statData is what git's index records of a file's stat, each field cut to
// 32 bits as the index stores it, and what a file must still show for git
// to call it unchanged without reading it.
type statData struct {
	ctimeSec, ctimeNsec uint32
	mtimeSec, mtimeNsec uint32
	ino, uid, gid, size uint32
}

// An indexEntry is a tracked file whose blob id the index vouches for as
// long as the file's stat data has not changed since git recorded it.
type indexEntry struct {
	path string // slash path relative to the root
	mode fileMode
	oid  string
	stat statData
}

// errIndexUnsupported means an index this package does not read itself,
// such as a split or sparse one, or one it finds damaged; git's commands
// read it instead, and git, the authority on its own index, decides.
var errIndexUnsupported = errors.New("index format not read directly")

// errCorruptIndex is an index that does not parse, or whose checksum does
// not match (which git itself does not check when it reads).
var errCorruptIndex = fmt.Errorf("corrupt index: %w", errIndexUnsupported)

// readIndex reads the entries under prefix (the root's path in the work
// tree, "" or ending in "/") of the git index file at name, following
// gitformat-index(5), versions 2 to 4, and returns them sorted by path with
// the prefix cut off. It leaves out what it cannot vouch for:
//
//   - merge conflicts (stages 1 to 3);
//   - assume-unchanged, skip-worktree and intent-to-add entries, whose
//     files git no longer looks at or has no content for;
//   - submodules, whose files the walk finds;
//   - "racily clean" entries, written in the same instant as the index or
//     after it, whose files may have changed without changing their stat
//     data (git rereads those too).
//
// A missing index is no entries. A split index ("link") or sparse one
// ("sdir"), any other extension git marks as required, an unknown version
// or entry flag, and a damaged index give errIndexUnsupported.
func readIndex(name, prefix string, format objectFormat) ([]indexEntry, error) {
	// Read and stat one open file: git replaces the index by renaming a new
	// one over it, so both are of the same version of it.
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("git index %s: %w", name, err)
	}
	mtime := fi.ModTime()
	written := timestamp{uint32(mtime.Unix()), uint32(mtime.Nanosecond())}
	return parseIndex(data, prefix, format, written)
}

type timestamp struct{ sec, nsec uint32 }

func (t timestamp) before(u timestamp) bool {
	return t.sec < u.sec || t.sec == u.sec && t.nsec < u.nsec
}

// parseIndex parses an index file's bytes; written is when the file was
// last written, which tells the racily clean entries.
func parseIndex(data []byte, prefix string, format objectFormat, written timestamp) ([]indexEntry, error) {
	hashLen := sha1.Size
	if format == sha256Format {
		hashLen = sha256.Size
	}
	if len(data) < 12+hashLen || string(data[:4]) != "DIRC" {
		return nil, errCorruptIndex
	}
	be := binary.BigEndian
	version := be.Uint32(data[4:8])
	if version < 2 || version > 4 {
		return nil, errIndexUnsupported
	}
	count := int(be.Uint32(data[8:12]))
	body := data[:len(data)-hashLen]
	if trailer := data[len(data)-hashLen:]; !allZero(trailer) { // all zeros: index.skipHash
		h := format.newHash()
		h.Write(body)
		if !bytes.Equal(h.Sum(nil), trailer) {
			return nil, errCorruptIndex
		}
	}

	// The fixed part of an entry: ten 32-bit stat and mode fields, the
	// object id and 16 bits of flags.
	fixed := 40 + hashLen + 2
	entries := make([]indexEntry, 0, min(count, len(body)/(fixed+2))) // a corrupt count must not allocate
	pos := 12
	prefixBytes := []byte(prefix)
	var name []byte // the previous entry's path, which version 4 builds on
	for i := range count {
		start := pos
		if pos+fixed > len(body) {
			return nil, errCorruptIndex
		}
		e := body[pos : pos+fixed]
		flags := be.Uint16(e[40+hashLen:])
		pos += fixed
		const (
			assumeValid  = 0x8000
			hasExtended  = 0x4000
			stageMask    = 0x3000
			skipWorktree = 0x4000 // extended
			intentToAdd  = 0x2000 // extended
		)
		var extended uint16
		if flags&hasExtended != 0 {
			if version < 3 || pos+2 > len(body) {
				return nil, errCorruptIndex
			}
			extended = be.Uint16(body[pos:])
			pos += 2
			if extended&^(skipWorktree|intentToAdd) != 0 {
				return nil, errIndexUnsupported // a flag newer than this reader
			}
		}
		if version == 4 {
			strip, n := decodeVarint(body[pos:])
			if i == 0 {
				strip = 0 // as git does: there is no earlier path
			}
			if n == 0 || strip > uint64(len(name)) {
				return nil, errCorruptIndex
			}
			pos += n
			end := bytes.IndexByte(body[pos:], 0)
			if end < 0 {
				return nil, errCorruptIndex
			}
			name = append(name[:len(name)-int(strip)], body[pos:pos+end]...)
			pos += end + 1
		} else {
			end := bytes.IndexByte(body[pos:], 0)
			if end < 0 {
				return nil, errCorruptIndex
			}
			name = append(name[:0], body[pos:pos+end]...)
			// NUL-padded to a multiple of 8 bytes from the entry's start.
			pos = start + (pos-start+end+8)&^7
			if pos > len(body) {
				return nil, errCorruptIndex
			}
		}

		if flags&(assumeValid|stageMask) != 0 || extended&(skipWorktree|intentToAdd) != 0 {
			continue
		}
		var mode fileMode
		switch be.Uint32(e[24:]) {
		case 0o100644:
			mode = modeRegular
		case 0o100755:
			mode = modeExecutable
		case 0o120000:
			mode = modeSymlink
		default:
			continue // a submodule
		}
		sd := statData{
			ctimeSec: be.Uint32(e[0:]), ctimeNsec: be.Uint32(e[4:]),
			mtimeSec: be.Uint32(e[8:]), mtimeNsec: be.Uint32(e[12:]),
			ino: be.Uint32(e[20:]), uid: be.Uint32(e[28:]), gid: be.Uint32(e[32:]), size: be.Uint32(e[36:]),
		}
		if !(timestamp{sd.mtimeSec, sd.mtimeNsec}).before(written) {
			continue // racily clean
		}
		if !bytes.HasPrefix(name, prefixBytes) {
			continue
		}
		entries = append(entries, indexEntry{
			path: string(name[len(prefix):]),
			mode: mode,
			oid:  hex.EncodeToString(e[40 : 40+hashLen]),
			stat: sd,
		})
	}

	// Extensions follow: a signature whose first letter is upper case is
	// optional (a cache of some kind); any other changes what the entries
	// mean.
	for pos < len(body) {
		if pos+8 > len(body) {
			return nil, errCorruptIndex
		}
		sig := body[pos : pos+4]
		size := int(be.Uint32(body[pos+4:]))
		if sig[0] < 'A' || sig[0] > 'Z' {
			return nil, errIndexUnsupported
		}
		if size < 0 || pos+8+size > len(body) {
			return nil, errCorruptIndex
		}
		pos += 8 + size
	}
	// The index is sorted by path bytes, and so are the entries with the
	// prefix cut off; a stage-0 path appears once.
	for i := 1; i < len(entries); i++ {
		if strings.Compare(entries[i-1].path, entries[i].path) >= 0 {
			return nil, errCorruptIndex
		}
	}
	return entries, nil
}

// decodeVarint reads git's offset varint (varint.c): it returns the value
// and the bytes it took, or 0 bytes when the data ends first.
func decodeVarint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	c := b[0]
	val := uint64(c & 127)
	n := 1
	for c&128 != 0 {
		if n == len(b) || val >= 1<<56 {
			return 0, 0
		}
		c = b[n]
		n++
		val = (val+1)<<7 | uint64(c&127)
	}
	return val, n
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
