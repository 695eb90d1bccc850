package glob

import (
	"container/heap"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Rule is one step's if_changed: it runs when some changed path matches an
// Include pattern and no Exclude pattern.
type Rule struct {
	Include, Exclude []*Pattern
}

// Result is the outcome of evaluating a Rule, with the evidence for it.
type Result struct {
	Matched bool
	Path    string   // when Matched: the decisive changed path
	Include *Pattern // when Matched: the include pattern it matched

	// When not Matched but some path matched an include pattern and was
	// excluded:
	ExcludedPath string
	ExcludedBy   *Pattern
}

// Index holds the changed paths, prepared once for evaluating many rules.
// It is safe for concurrent use.
//
// Each pattern only tests candidate paths, found from what all its matches
// must share (see hint): a literal prefix, a directory name such as
// "svc12" in "**/svc12/**", a file name such as "Dockerfile" in
// "**/Dockerfile", or an extension such as "go" in "**.go". Without any,
// it tests every path. Candidates are spans of the sorted paths: those
// with a prefix are one span, and so are those under one directory, so a
// directory name's candidates are a span per directory of that name.
type Index struct {
	paths []string          // sorted, without duplicates
	dirs  map[string]*spans // directory name -> the paths under one so named

	// File names and extensions take a map operation per path, so they
	// are indexed on first use.
	filesOnce sync.Once
	files     map[string]*spans // last segment -> paths
	exts      map[string]*spans // text after the last "." of the last segment -> paths
}

// span is the paths paths[lo:hi].
type span struct{ lo, hi int32 }

// spans is an ascending list of disjoint spans, and how many paths it holds.
type spans struct {
	list []span
	n    int
}

// NewIndex prepares the changed paths. Duplicates count once.
func NewIndex(paths []string) *Index {
	sorted := sortedSet(paths)
	ix := &Index{paths: sorted, dirs: make(map[string]*spans)}

	// Walk the paths keeping the directories of the previous one open; a
	// directory closes, as one span, at the first path outside it.
	type openDir struct {
		name  string
		end   int // offset just past the "/" that ends it
		start int32
	}
	var open []openDir
	prev := ""
	for i, p := range sorted {
		for len(open) > 0 && !strings.HasPrefix(p, prev[:open[len(open)-1].end]) {
			d := open[len(open)-1]
			open = open[:len(open)-1]
			record(ix.dirs, d.name, span{d.start, int32(i)})
		}
		from := 0
		if len(open) > 0 {
			from = open[len(open)-1].end
		}
		for {
			slash := strings.IndexByte(p[from:], '/')
			if slash < 0 {
				break
			}
			open = append(open, openDir{name: p[from : from+slash], end: from + slash + 1, start: int32(i)})
			from += slash + 1
		}
		prev = p
	}
	for k := len(open) - 1; k >= 0; k-- {
		record(ix.dirs, open[k].name, span{open[k].start, int32(len(sorted))})
	}
	finish(ix.dirs)
	return ix
}

// sortedSet returns the paths sorted, without duplicates. Change lists
// usually come sorted (git sorts them), so it checks before sorting.
func sortedSet(paths []string) []string {
	s := slices.Clone(paths)
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] { // out of order, or a duplicate
			slices.Sort(s)
			return slices.Compact(s)
		}
	}
	return s
}

// indexFiles builds the file name and extension maps.
func (ix *Index) indexFiles() {
	ix.files = make(map[string]*spans)
	ix.exts = make(map[string]*spans)
	for i, p := range ix.paths {
		file := p[strings.LastIndexByte(p, '/')+1:]
		sp := span{int32(i), int32(i) + 1}
		record(ix.files, file, sp)
		if dot := strings.LastIndexByte(file, '.'); dot >= 0 {
			record(ix.exts, file[dot+1:], sp)
		}
	}
	finish(ix.files)
	finish(ix.exts)
}

func record(m map[string]*spans, key string, sp span) {
	s := m[key]
	if s == nil {
		s = &spans{}
		m[key] = s
	}
	s.list = append(s.list, sp)
}

// finish puts each list of spans in order, merging the overlaps that
// nested directories of one name ("a/x/a/") make, and counts the paths.
func finish(m map[string]*spans) {
	for _, s := range m {
		if len(s.list) > 1 {
			byStart := func(a, b span) int { return int(a.lo - b.lo) }
			if !slices.IsSortedFunc(s.list, byStart) {
				slices.SortFunc(s.list, byStart)
			}
			merged := s.list[:1]
			for _, sp := range s.list[1:] {
				if last := &merged[len(merged)-1]; sp.lo <= last.hi {
					last.hi = max(last.hi, sp.hi)
				} else {
					merged = append(merged, sp)
				}
			}
			s.list = merged
		}
		for _, sp := range s.list {
			s.n += int(sp.hi - sp.lo)
		}
	}
}

// Len returns the number of distinct paths.
func (ix *Index) Len() int { return len(ix.paths) }

// Under returns the changed paths that start with prefix, in byte order
// (a subslice of the index: do not modify it). Under("dir/") is every
// changed path below dir.
func (ix *Index) Under(prefix string) []string {
	lo := sort.SearchStrings(ix.paths, prefix)
	hi := lo + sort.Search(len(ix.paths)-lo, func(i int) bool { return !strings.HasPrefix(ix.paths[lo+i], prefix) })
	return ix.paths[lo:hi]
}

// Evaluate decides whether r's step runs. The evidence does not depend on
// how candidates are found: Path is the byte-wise smallest changed path
// that matches some include pattern and no exclude pattern, and Include
// the first include pattern (in rule order) it matches. When there is no
// such path, ExcludedPath is the smallest path that matched an include
// pattern but was excluded, and ExcludedBy the first exclude pattern that
// matches it.
func (ix *Index) Evaluate(r Rule) Result {
	var res Result
	c := ix.candidates(r.Include)
	for i, ok := c.next(); ok; i, ok = c.next() {
		path := ix.paths[i]
		inc := firstMatch(r.Include, path)
		if inc == nil {
			continue
		}
		if exc := firstMatch(r.Exclude, path); exc != nil {
			if res.ExcludedBy == nil {
				res.ExcludedPath, res.ExcludedBy = path, exc
			}
			continue
		}
		return Result{Matched: true, Path: path, Include: inc}
	}
	return res
}

func firstMatch(ps []*Pattern, path string) *Pattern {
	for _, p := range ps {
		if p != nil && p.Match(path) {
			return p
		}
	}
	return nil
}

// candidates merges, in ascending order, the candidate paths of every
// branch of every pattern, so Evaluate can stop at the first hit.
func (ix *Index) candidates(ps []*Pattern) *merger {
	m := &merger{}
	for _, p := range ps {
		if p == nil {
			continue
		}
		for i := range p.hints {
			s := ix.source(&p.hints[i])
			switch s.n {
			case 0:
			case len(ix.paths): // every path: the others add nothing
				return &merger{cursors: []cursor{newCursor(s.list)}}
			default:
				m.cursors = append(m.cursors, newCursor(s.list))
			}
		}
	}
	heap.Init(m)
	return m
}

// source picks the narrowest candidate list a hint allows.
func (ix *Index) source(h *hint) spans {
	if h.isExact {
		i, found := slices.BinarySearch(ix.paths, h.exact)
		if !found {
			return spans{}
		}
		return spans{list: []span{{int32(i), int32(i) + 1}}, n: 1}
	}
	best := spans{list: []span{{0, int32(len(ix.paths))}}, n: len(ix.paths)}
	if h.prefix != "" {
		lo := sort.SearchStrings(ix.paths, h.prefix)
		hi := lo + sort.Search(len(ix.paths)-lo, func(i int) bool {
			return !strings.HasPrefix(ix.paths[lo+i], h.prefix)
		})
		best = spans{list: []span{{int32(lo), int32(hi)}}, n: hi - lo}
	}
	consider := func(m map[string]*spans, key string) {
		s := m[key]
		if s == nil {
			s = &spans{} // no path has it
		}
		if s.n < best.n {
			best = *s
		}
	}
	for _, dir := range h.dirs {
		consider(ix.dirs, dir)
	}
	// A few candidates are cheaper to test than the file maps are to build.
	if (h.hasFile || h.hasExt) && best.n > lazyIndexThreshold {
		ix.filesOnce.Do(ix.indexFiles)
		if h.hasFile {
			consider(ix.files, h.file)
		}
		if h.hasExt {
			consider(ix.exts, h.ext)
		}
	}
	return best
}

// lazyIndexThreshold is how many candidates a pattern may have before the
// file name and extension maps are built to narrow them.
const lazyIndexThreshold = 256

// cursor walks a list of spans; cur is the part of the current span not
// yet visited.
type cursor struct {
	cur  span
	rest []span
}

func newCursor(list []span) cursor { return cursor{cur: list[0], rest: list[1:]} }

// advance moves past the head, reporting false when nothing is left.
func (c *cursor) advance() bool {
	if c.cur.lo++; c.cur.lo < c.cur.hi {
		return true
	}
	if len(c.rest) == 0 {
		return false
	}
	c.cur, c.rest = c.rest[0], c.rest[1:]
	return true
}

// merger yields the union of its cursors in ascending order, each path
// once. It is a min-heap of cursors keyed by their heads.
type merger struct{ cursors []cursor }

func (m *merger) next() (int32, bool) {
	if len(m.cursors) == 0 {
		return 0, false
	}
	i := m.cursors[0].cur.lo
	for len(m.cursors) > 0 && m.cursors[0].cur.lo == i {
		if m.cursors[0].advance() {
			heap.Fix(m, 0)
		} else {
			heap.Pop(m)
		}
	}
	return i, true
}

func (m *merger) Len() int           { return len(m.cursors) }
func (m *merger) Less(i, j int) bool { return m.cursors[i].cur.lo < m.cursors[j].cur.lo }
func (m *merger) Swap(i, j int)      { m.cursors[i], m.cursors[j] = m.cursors[j], m.cursors[i] }
func (m *merger) Push(x any)         { m.cursors = append(m.cursors, x.(cursor)) }
func (m *merger) Pop() any {
	c := m.cursors[len(m.cursors)-1]
	m.cursors = m.cursors[:len(m.cursors)-1]
	return c
}
