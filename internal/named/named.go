// Package named finds things by the name the spec calls them: a provider,
// a scanner.
package named

// A Thing has the name the spec calls it.
type Thing interface{ Name() string }

// Find returns the thing called name, or the zero T.
func Find[T Thing](all []T, name string) T {
	for _, t := range all {
		if t.Name() == name {
			return t
		}
	}
	var zero T
	return zero
}

// Names lists the things' names, in order.
func Names[T Thing](all []T) []string {
	out := make([]string, len(all))
	for i, t := range all {
		out[i] = t.Name()
	}
	return out
}
