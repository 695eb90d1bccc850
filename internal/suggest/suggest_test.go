package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"registry", "repository", "context", "dockerfile", "platforms", "cache"}
	for _, tc := range []struct{ word, want string }{
		{"registy", "registry"},
		{"Dockerfile", "dockerfile"},
		{"plattforms", "platforms"},
		{"contxt", "context"},
		{"zzz", ""},       // nothing close
		{"cch", ""},       // short words need a closer match
		{"cach", "cache"}, // one edit away
		{"something-else", ""},
	} {
		if got := Closest(tc.word, names); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	if got, want := DidYouMean("imgaes", []string{"images", "version"}), ` (did you mean "images"?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := DidYouMean("x", []string{"images"}); got != "" {
		t.Errorf("got %q, want no hint", got)
	}
}
