package changes

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxListBytes bounds a list of changed paths: a million paths of a
// hundred bytes each.
const maxListBytes = 100 << 20

// readList reads a newline-separated list of paths as the agent does: lines
// are kept byte for byte (spaces are part of a path), and only blank lines,
// empty or all white space, are dropped.
func readList(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxListBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("the list is longer than %d MiB", maxListBytes>>20)
	}
	lines := strings.Split(string(data), "\n")
	return slices.DeleteFunc(lines, func(s string) bool { return strings.TrimSpace(s) == "" }), nil
}
