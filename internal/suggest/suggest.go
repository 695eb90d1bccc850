// Package suggest finds the likely intended word behind a typo, for
// "did you mean" hints in errors.
package suggest

import (
	"fmt"
	"strings"
)

// Closest returns the candidate nearest to word when it is close enough to be
// a likely typo, or "". Ties go to the candidate that sorts first.
func Closest(word string, candidates []string) string {
	best, bestDist := "", 3
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := distance(lw, c)
		if d < bestDist || (d == bestDist && best != "" && c < best) {
			best, bestDist = c, d
		}
	}
	// Short words need a closer match, or everything suggests everything.
	if best != "" && bestDist > 1 && len([]rune(word)) <= 3 {
		return ""
	}
	return best
}

// DidYouMean is Closest as a hint to append to a message: ` (did you mean "x"?)`.
func DidYouMean(word string, candidates []string) string {
	if s := Closest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
