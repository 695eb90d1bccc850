//go:build !linux

package contentkey

import (
	"io/fs"
	"os"
)

// canStat says that listDir cannot stat what it lists the way the index
// records it; git's commands check the index instead.
const canStat = false

// listDir reads the directory at name (an OS path), unsorted. withStat is
// never asked for where canStat is false.
func listDir(name string, withStat bool) ([]dirEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirEntry, 0, len(des))
	for _, d := range des {
		e := dirEntry{name: d.Name(), kind: kindOther}
		switch t := d.Type(); {
		case t.IsDir():
			e.kind = kindDir
		case t.IsRegular():
			e.kind = kindFile
		case t&fs.ModeSymlink != 0:
			e.kind = kindSymlink
		}
		out = append(out, e)
	}
	return out, nil
}
