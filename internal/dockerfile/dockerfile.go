// Package dockerfile reads what bkgen needs of a Dockerfile: its stages,
// and the images a build of one of them starts from. It is not a full
// parser: it follows BuildKit's rules for what it reads (parser
// directives, line continuations, comments, heredocs, global ARGs and
// their expansion in FROM), and leaves everything else alone.
package dockerfile

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Instruction is one instruction, its continuation lines joined.
type Instruction struct {
	Cmd  string   // the keyword, upper case
	Args []string // the words after it, flags (--name=value) first
	Line int      // where it starts, from 1
}

// Flag returns the value of the instruction's flag --name=value.
func (in Instruction) Flag(name string) (string, bool) {
	for _, a := range in.Args {
		if !strings.HasPrefix(a, "--") {
			break
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Words are the instruction's arguments after its flags.
func (in Instruction) Words() []string {
	for i, a := range in.Args {
		if !strings.HasPrefix(a, "--") {
			return in.Args[i:]
		}
	}
	return nil
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	Name string // lower case; "" when it has none
	From Instruction
	Body []Instruction
}

// File is a parsed Dockerfile.
type File struct {
	// Args are the ARGs before the first FROM: the only ones a FROM line
	// can use.
	Args   []Arg
	Stages []Stage
}

// Arg is a global ARG and its default.
type Arg struct {
	Name, Default string
	HasDefault    bool
}

var (
	directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)
	heredocRE   = regexp.MustCompile(`<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)
)

// Parse reads a Dockerfile. It never fails: what it cannot read, it skips.
func Parse(src string) *File {
	f := &File{}
	escape := byte('\\')
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	i := 0
	// Parser directives: comments of the form # name=value, at the top.
	for ; i < len(lines); i++ {
		m := directiveRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") && (m[2] == "`" || m[2] == `\`) {
			escape = m[2][0]
		}
	}
	var stage *Stage
	for ; i < len(lines); i++ {
		start := i + 1
		text := strings.TrimSpace(lines[i])
		if text == "" || text[0] == '#' {
			continue
		}
		for strings.HasSuffix(text, string(escape)) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if next != "" && next[0] == '#' {
				continue // a comment inside a continuation is dropped
			}
			text = text[:len(text)-1] + " " + next
		}
		text = strings.TrimSuffix(text, string(escape))
		words := strings.Fields(text)
		in := Instruction{Cmd: strings.ToUpper(words[0]), Args: words[1:], Line: start}
		// A heredoc's body is not instructions: skip to its end.
		for _, m := range heredocRE.FindAllStringSubmatch(text, -1) {
			for i+1 < len(lines) {
				i++
				body := lines[i]
				if m[1] == "-" {
					body = strings.TrimLeft(body, "\t")
				}
				if body == m[3] {
					break
				}
			}
		}
		switch {
		case in.Cmd == "FROM":
			f.Stages = append(f.Stages, Stage{From: in})
			stage = &f.Stages[len(f.Stages)-1]
			if w := in.Words(); len(w) >= 3 && strings.EqualFold(w[1], "AS") {
				stage.Name = strings.ToLower(w[2])
			}
		case stage != nil:
			stage.Body = append(stage.Body, in)
		case in.Cmd == "ARG":
			for _, w := range in.Args {
				name, def, ok := strings.Cut(w, "=")
				f.Args = append(f.Args, Arg{Name: name, Default: unquote(def), HasDefault: ok})
			}
		}
	}
	return f
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// Stage returns the index of the stage named name (any case), or -1.
func (f *File) Stage(name string) int {
	return slices.IndexFunc(f.Stages, func(s Stage) bool { return s.Name != "" && s.Name == strings.ToLower(name) })
}

// Base is an image a build starts from, or copies from: a FROM or a
// COPY --from that names no stage.
type Base struct {
	Ref  string // as the build resolves it, build args expanded
	Line int
	// Unresolved names the variable that left Ref unknown: it has no
	// value; Ref is then the text as written.
	Unresolved string
}

// Bases are the images a build of target (the last stage when "") needs
// from outside the Dockerfile, in the order the file names them, each
// once: the FROM of every stage the target needs, and every COPY --from
// and RUN --mount from= that names no stage. args are the build args; a
// global ARG's default stands in for one not given. scratch is no image.
func (f *File) Bases(target string, args map[string]string) []Base {
	if len(f.Stages) == 0 {
		return nil
	}
	last := len(f.Stages) - 1
	if target != "" {
		if last = f.Stage(target); last < 0 {
			return nil
		}
	}
	vars := map[string]string{}
	for _, a := range f.Args {
		if v, ok := args[a.Name]; ok {
			vars[a.Name] = v
		} else if a.HasDefault {
			vars[a.Name] = expand(a.Default, vars)
		}
	}
	needed := map[int]bool{}
	var bases []Base
	seen := map[string]bool{}
	add := func(ref string, line int) {
		text, missing := expandRef(ref, vars)
		b := Base{Ref: text, Line: line, Unresolved: missing}
		if missing != "" {
			b.Ref = ref
		}
		if strings.EqualFold(b.Ref, "scratch") || seen[b.Ref] {
			return
		}
		seen[b.Ref] = true
		bases = append(bases, b)
	}
	// A stage by name (earlier in the file) or, for COPY --from, by index.
	stageOf := func(ref string, before int, byIndex bool) int {
		if i := f.Stage(ref); i >= 0 && i < before {
			return i
		}
		if n, err := strconv.Atoi(ref); byIndex && err == nil && n >= 0 && n < before {
			return n
		}
		return -1
	}
	var visit func(i int)
	visit = func(i int) {
		if needed[i] {
			return
		}
		needed[i] = true
		st := f.Stages[i]
		if w := st.From.Words(); len(w) > 0 {
			if j := stageOf(w[0], i, false); j >= 0 {
				visit(j)
			} else {
				add(w[0], st.From.Line)
			}
		}
		for _, in := range st.Body {
			var from []string
			switch in.Cmd {
			case "COPY":
				if v, ok := in.Flag("from"); ok {
					from = append(from, v)
				}
			case "RUN":
				for _, a := range in.Args {
					if !strings.HasPrefix(a, "--") {
						break
					}
					if m, ok := strings.CutPrefix(a, "--mount="); ok {
						for _, kv := range strings.Split(m, ",") {
							if v, ok := strings.CutPrefix(kv, "from="); ok {
								from = append(from, v)
							}
						}
					}
				}
			}
			for _, ref := range from {
				if j := stageOf(ref, i, true); j >= 0 {
					visit(j)
				} else {
					add(ref, in.Line)
				}
			}
		}
	}
	visit(last)
	slices.SortStableFunc(bases, func(a, b Base) int { return a.Line - b.Line })
	return bases
}

var varRE = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expandRef expands the variables in a FROM reference; missing names the
// first one without a value that no default covers.
func expandRef(ref string, vars map[string]string) (text, missing string) {
	text = varRE.ReplaceAllStringFunc(ref, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name := sub[1] + sub[4]
		v, set := vars[name]
		switch sub[2] {
		case ":-":
			if v == "" {
				return sub[3]
			}
		case "-":
			if !set {
				return sub[3]
			}
		case ":+":
			if v != "" {
				return sub[3]
			}
			return ""
		case "+":
			if set {
				return sub[3]
			}
			return ""
		}
		if !set && missing == "" {
			missing = name
		}
		return v
	})
	return text, missing
}

func expand(s string, vars map[string]string) string {
	text, _ := expandRef(s, vars)
	return text
}
