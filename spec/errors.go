package spec

import (
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/internal/suggest"
)

// Pos is a position in the spec file, 1-based as editors show it.
type Pos = diag.Pos

func didYouMean(word string, candidates []string) string {
	return suggest.DidYouMean(word, candidates)
}
