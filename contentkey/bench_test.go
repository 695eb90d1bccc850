package contentkey_test

import (
	"testing"
	"time"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/contentkey/internal/benchrepo"
	"github.com/google/go-cmp/cmp"
)

// BenchmarkCompute keys the 300 images of a generated, committed and clean
// repository of 100,000 files twice: through git's index (the fast path)
// and hashing every file from disk, then prints both times and their
// ratio. Generating the repository takes a while, so it runs only with
// -bench; scripts/bench-contentkey.sh runs it.
func BenchmarkCompute(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	images, err := benchrepo.Generate(b.Context(), dir, benchrepo.Default())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %+v in %.1f s", benchrepo.Default(), time.Since(start).Seconds())

	measure := func(opts contentkey.Options, keys *map[string]string, per *time.Duration) func(*testing.B) {
		return func(b *testing.B) {
			n := 0
			for b.Loop() {
				var err error
				if *keys, err = contentkey.ComputeWith(b.Context(), opts, images); err != nil {
					b.Fatal(err)
				}
				n++
			}
			*per = b.Elapsed() / time.Duration(n)
		}
	}
	var (
		fastKeys, diskKeys map[string]string
		fast, disk         time.Duration
	)
	b.Run("git", measure(contentkey.Options{Root: dir}, &fastKeys, &fast))
	b.Run("disk", measure(contentkey.Options{Root: dir, NoGit: true}, &diskKeys, &disk))
	if diff := cmp.Diff(diskKeys, fastKeys); diff != "" {
		b.Fatalf("keys through git differ from keys from disk (-disk +git):\n%s", diff)
	}
	if len(fastKeys) != len(images) {
		b.Fatalf("got %d keys for %d images", len(fastKeys), len(images))
	}
	b.Logf("%d keys: fast path (git) %.3f s, full hash (disk) %.3f s, ratio %.1fx",
		len(fastKeys), fast.Seconds(), disk.Seconds(), float64(disk)/float64(fast))
}
