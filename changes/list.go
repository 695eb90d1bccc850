package changes

import (
	"io"
	"slices"
	"strings"
)

// readList reads a newline-separated list of paths as the agent does: lines
// are kept byte for byte (spaces are part of a path), and only blank lines,
// empty or all white space, are dropped.
func readList(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	return slices.DeleteFunc(lines, func(s string) bool { return strings.TrimSpace(s) == "" }), nil
}
