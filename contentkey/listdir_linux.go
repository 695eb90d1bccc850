//go:build linux

package contentkey

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// canStat says that listDir can stat what it lists, so that the index's
// stat data can be checked without git.
const canStat = true

// direntBufs are getdents buffers, one per directory being read.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// listDir reads the directory at name (an OS path) with getdents, unsorted,
// leaving out "." and "..". With withStat, it stats each file and symlink
// relative to the open directory, which spares the kernel resolving its
// whole path again: on a large tree, these stats are most of the time
// spent. A file removed between the listing and its stat is left out, as
// if it had gone a moment sooner.
func listDir(name string, withStat bool) ([]dirEntry, error) {
	fd, err := openDir(name)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	bufp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bufp)
	buf := *bufp

	var out []dirEntry
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "getdents", Path: name, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		// Each record is a struct linux_dirent64: inode (8 bytes), offset
		// (8), record length (2), type (1), then the NUL-terminated name.
		for b := buf[:n]; len(b) > 0; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 20 || reclen > len(b) {
				return nil, &os.PathError{Op: "getdents", Path: name, Err: errors.New("malformed directory entry")}
			}
			typ, nameBytes := b[18], b[19:reclen]
			b = b[reclen:]
			if i := bytes.IndexByte(nameBytes, 0); i >= 0 {
				nameBytes = nameBytes[:i]
			}
			if string(nameBytes) == "." || string(nameBytes) == ".." {
				continue
			}
			e := dirEntry{name: string(nameBytes)}
			switch typ {
			case unix.DT_DIR:
				e.kind = kindDir
			case unix.DT_REG:
				e.kind = kindFile
			case unix.DT_LNK:
				e.kind = kindSymlink
			case unix.DT_UNKNOWN: // some filesystems do not say
			default:
				e.kind = kindOther
			}
			if e.kind == kindUnknown || withStat && (e.kind == kindFile || e.kind == kindSymlink) {
				var st unix.Stat_t
				err := fstatat(fd, e.name, &st)
				if err == unix.ENOENT {
					continue
				}
				if err != nil {
					return nil, &os.PathError{Op: "lstat", Path: name + "/" + e.name, Err: err}
				}
				e.kind, e.mode, e.stat = kindOf(&st)
			}
			out = append(out, e)
		}
	}
}

func openDir(name string) (int, error) {
	for {
		fd, err := unix.Open(name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func fstatat(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// kindOf says what a stat result is, and for a file or symlink the git
// mode it would get (100755 when its owner may execute it) and the index's
// view of its stat data.
func kindOf(st *unix.Stat_t) (entryKind, fileMode, statData) {
	var kind entryKind
	var mode fileMode
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return kindDir, 0, statData{}
	case unix.S_IFREG:
		kind, mode = kindFile, modeRegular
		if st.Mode&0o100 != 0 {
			mode = modeExecutable
		}
	case unix.S_IFLNK:
		kind, mode = kindSymlink, modeSymlink
	default:
		return kindOther, 0, statData{}
	}
	return kind, mode, statData{
		ctimeSec: uint32(st.Ctim.Sec), ctimeNsec: uint32(st.Ctim.Nsec),
		mtimeSec: uint32(st.Mtim.Sec), mtimeNsec: uint32(st.Mtim.Nsec),
		ino: uint32(st.Ino), uid: st.Uid, gid: st.Gid, size: uint32(st.Size),
	}
}
