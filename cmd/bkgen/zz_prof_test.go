package main

import (
	"bytes"
	"strings"
	"testing"
)

func BenchmarkWorkload(b *testing.B) {
	for b.Loop() {
		var out, errb bytes.Buffer
		if st := run([]string{"generate", "-C", "/tmp/bw", "--changed-files", "changed.txt", "-q"}, &stdio{in: strings.NewReader(""), out: &out, err: &errb}, func(string) string { return "" }); st != 0 {
			b.Fatal(errb.String())
		}
	}
}
