// Package plural counts things in English: "1 file", "3 files".
package plural

import "fmt"

// Count is n and the noun, made plural with an "s" unless n is 1.
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
