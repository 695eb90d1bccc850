package contentkey

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// objectFormat is the hash a repository names its objects with.
type objectFormat string

const (
	sha1Format   objectFormat = "sha1"
	sha256Format objectFormat = "sha256"
)

func parseObjectFormat(s string) (objectFormat, error) {
	switch f := objectFormat(s); f {
	case sha1Format, sha256Format:
		return f, nil
	}
	return "", fmt.Errorf("unsupported git object format %q", s)
}

func (f objectFormat) newHash() hash.Hash {
	if f == sha256Format {
		return sha256.New()
	}
	return sha1.New()
}

// blobID returns the id git gives a blob of this content.
func (f objectFormat) blobID(data []byte) string {
	h := f.newHash()
	writeBlobHeader(h, int64(len(data)))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func writeBlobHeader(h hash.Hash, size int64) {
	var buf [32]byte
	b := append(buf[:0], "blob "...)
	b = strconv.AppendInt(b, size, 10)
	h.Write(append(b, 0))
}

// A hasher hashes files from disk into git blob ids, reusing its hash and
// buffer from file to file; one per goroutine.
type hasher struct {
	h   hash.Hash
	buf []byte
}

func (f objectFormat) newHasher() *hasher {
	return &hasher{h: f.newHash(), buf: make([]byte, 64<<10)}
}

// hashFile returns the git mode and blob id of the file at name: the
// owner's execute bit decides between 100644 and 100755, and a symlink's
// blob is its target. Errors do not name the file, which the caller knows
// by a better name than this machine's path.
func (h *hasher) hashFile(name string, symlink bool) (fileMode, string, error) {
	mode, oid, err := h.hash(name, symlink)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return mode, oid, err
}

func (h *hasher) hash(name string, symlink bool) (fileMode, string, error) {
	h.h.Reset()
	if symlink {
		target, err := os.Readlink(name)
		if err != nil {
			return 0, "", err
		}
		writeBlobHeader(h.h, int64(len(target)))
		io.WriteString(h.h, target)
		return modeSymlink, hex.EncodeToString(h.h.Sum(nil)), nil
	}

	// The walk found a regular file here; should it have become a FIFO
	// since, opening it must not wait for a writer.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	if !fi.Mode().IsRegular() {
		return 0, "", errors.New("changed while being keyed: no longer a regular file")
	}
	writeBlobHeader(h.h, fi.Size())
	n, err := io.CopyBuffer(h.h, io.LimitReader(f, fi.Size()), h.buf)
	if err != nil {
		return 0, "", err
	}
	if n != fi.Size() {
		return 0, "", fmt.Errorf("changed while being keyed: read %d of %d bytes", n, fi.Size())
	}
	mode := modeRegular
	if fi.Mode().Perm()&0o100 != 0 {
		mode = modeExecutable
	}
	return mode, hex.EncodeToString(h.h.Sum(nil)), nil
}
