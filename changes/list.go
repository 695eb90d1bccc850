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
	return lines(string(data)), nil
}

// lines splits text into lines as the agent reads both a list of changed
// files and git's output: by "\n", dropping lines that are empty or all
// white space, and keeping the rest byte for byte.
func lines(text string) []string {
	return slices.DeleteFunc(strings.Split(text, "\n"), func(s string) bool { return strings.TrimSpace(s) == "" })
}
