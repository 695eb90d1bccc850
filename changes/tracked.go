package changes

import (
	"context"
	"strings"
)

// TrackedFiles lists the files git tracks in the checkout holding dir,
// relative to its top level (what if_changed patterns match), or nil when
// git cannot say: no git, or not a checkout.
func TrackedFiles(ctx context.Context, dir string) []string {
	git, err := newRunner("", dir, gitTimeout, fetchTimeout)
	if err != nil {
		return nil
	}
	out, err := git.run(ctx, "ls-files", "-z", "--full-name")
	if err != nil {
		return nil
	}
	if out == "" {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
}
