package changes

import (
	"context"
	"strings"
)

// Root finds the top level of the git checkout holding dir, and dir's place
// in it: prefix is "" at the top level, else a slash-separated path such as
// "services/api". Result.Files are relative to the top level, as the agent
// matches them, so a caller working below it joins prefix to its own paths
// before matching. git "" means "git" looked up on PATH.
func Root(ctx context.Context, dir, git string) (top, prefix string, err error) {
	r, err := newRunner(git, dir, gitTimeout, fetchTimeout)
	if err != nil {
		return "", "", err
	}
	if top, err = r.topLevel(ctx); err != nil {
		return "", "", err
	}
	out, err := r.run(ctx, "rev-parse", "--show-prefix")
	if err != nil {
		return "", "", err
	}
	return top, strings.TrimSuffix(strings.TrimSuffix(out, "\n"), "/"), nil
}
