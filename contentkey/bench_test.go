//go:build linux

package contentkey_test

import (
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/contentkey/internal/benchrepo"
	"github.com/google/go-cmp/cmp"
)

// BenchmarkCompute keys the 300 images of a generated, committed and clean
// repository of 100,000 files twice: through git's index (the fast path)
// and hashing every file from disk, then prints (with -v) the median time
// of each and their ratio. It also times listing and statting every file
// alone, which the fast path cannot do without, to show how close to that
// floor it is on the machine at hand. Generating the repository takes a
// while, so it runs only with -bench; scripts/bench-contentkey.sh runs it.
func BenchmarkCompute(b *testing.B) {
	// As bkgen's main does: it runs for a fraction of a second.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	dir := b.TempDir()
	start := time.Now()
	images, err := benchrepo.Generate(b.Context(), dir, benchrepo.Default())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %+v in %.1f s", benchrepo.Default(), time.Since(start).Seconds())

	// Each is run once before timing: the first run of either pays for
	// filling the kernel's caches, which the other would then enjoy.
	measure := func(opts contentkey.Options, keys *map[string]string, median *time.Duration) func(*testing.B) {
		return func(b *testing.B) {
			compute := func() {
				var err error
				if *keys, err = contentkey.ComputeWith(b.Context(), opts, images); err != nil {
					b.Fatal(err)
				}
			}
			compute()
			var times []time.Duration
			for b.Loop() {
				start := time.Now()
				compute()
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			*median = times[len(times)/2]
		}
	}
	var (
		fastKeys, diskKeys map[string]string
		fast, disk, floor  time.Duration
	)
	b.Run("git", measure(contentkey.Options{Root: dir}, &fastKeys, &fast))
	b.Run("disk", measure(contentkey.Options{Root: dir, NoGit: true}, &diskKeys, &disk))
	b.Run("stat", func(b *testing.B) {
		var contexts []string
		for _, img := range images {
			contexts = append(contexts, img.Context)
		}
		var times []time.Duration
		for b.Loop() {
			start := time.Now()
			if _, err := contentkey.ListAndStat(b.Context(), dir, contexts); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		floor = times[len(times)/2]
	})
	if diff := cmp.Diff(diskKeys, fastKeys); diff != "" {
		b.Fatalf("keys through git differ from keys from disk (-disk +git):\n%s", diff)
	}
	if len(fastKeys) != len(images) {
		b.Fatalf("got %d keys for %d images", len(fastKeys), len(images))
	}
	b.Logf("%d keys, median of each: fast path (git) %.3f s, full hash (disk) %.3f s, ratio %.1fx",
		len(fastKeys), fast.Seconds(), disk.Seconds(), float64(disk)/float64(fast))
	b.Logf("listing and statting every file alone: %.3f s, so no fast path that stats what it trusts can be more than %.1fx faster here",
		floor.Seconds(), float64(disk)/float64(floor))
}
