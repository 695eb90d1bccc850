package preview

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/spec"
)

// Text writes the plan as aligned columns. With color, actions are coloured
// with ANSI escapes; callers pass true only for a terminal without NO_COLOR.
func Text(w io.Writer, p *Plan, color bool) error {
	actionColor := map[string]string{"build": "33", "guard": "36", "reuse": "32", "skip": "2", "run": "32"}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", p.baseLine())
	for _, n := range p.Changes.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	if p.Trust.Model {
		fmt.Fprintf(&b, "Trust: %s\n", p.Trust)
	}
	images := [][]string{{"IMAGE", "ACTION", "TAG", "WHY"}}
	for _, im := range p.Images {
		images = append(images, []string{im.Name, string(im.Action), tagOf(im.Ref), im.Reason})
	}
	steps := [][]string{{"STEP", "RUNS", "WHY"}}
	for _, s := range p.Steps {
		state := "run"
		if !s.Run {
			state = "skip"
		}
		steps = append(steps, []string{s.Key, state, s.Reason})
	}
	paint := func(row, col int, cell string) string {
		if !color || row == 0 || col != 1 {
			return cell
		}
		return "\x1b[" + actionColor[cell] + "m" + cell + "\x1b[0m"
	}
	b.WriteString("\n")
	writeTable(&b, images, paint)
	b.WriteString("\n")
	writeTable(&b, steps, paint)
	fmt.Fprintf(&b, "\n%s\n", p.summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable pads columns to their widest cell, two spaces apart. Widths
// come from the plain text, so colouring a cell never shifts a column.
func writeTable(b *strings.Builder, rows [][]string, paint func(row, col int, cell string) string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for ri, r := range rows {
		for i, c := range r {
			b.WriteString(paint(ri, i, c))
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteString("\n")
	}
}

func tagOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// Markdown writes the plan as the body of a Buildkite annotation.
func Markdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	b.WriteString("### bkgen plan\n\n")
	for _, line := range strings.Split(p.baseLine(), "\n") {
		fmt.Fprintf(&b, "%s  \n", mdEscape(strings.TrimSpace(line)))
	}
	b.WriteString("\n")
	for _, n := range p.Changes.Notes {
		fmt.Fprintf(&b, "- %s\n", mdEscape(n))
	}
	if len(p.Changes.Notes) > 0 {
		b.WriteString("\n")
	}
	if p.Trust.Model {
		fmt.Fprintf(&b, "Trust: %s\n\n", mdEscape(p.Trust.String()))
	}
	b.WriteString("| Image | Action | Content tag | Why |\n| --- | --- | --- | --- |\n")
	for _, im := range p.Images {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", mdEscape(im.Name), im.Action, tagOf(im.Ref), mdEscape(im.Reason))
	}
	b.WriteString("\n<details>\n<summary>Steps</summary>\n\n| Step | Runs | Why |\n| --- | --- | --- |\n")
	for _, s := range p.Steps {
		state := "run"
		if !s.Run {
			state = "skip"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Key, state, mdEscape(s.Reason))
	}
	b.WriteString("\n</details>\n\n")
	fmt.Fprintf(&b, "%s\n", mdEscape(p.summary()))
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps text from the spec or git from being read as markdown or
// HTML in an annotation: a `|` cannot end a table cell, a backtick cannot
// open code, `<` cannot open a tag and `&` cannot spell an entity.
func mdEscape(s string) string {
	return mdEscaper.Replace(s)
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "\n", " ", "\r", " ",
)

// jsonPlan is the documented JSON shape. Fields are only ever added.
type jsonPlan struct {
	Version   int          `json:"version"`
	Spec      string       `json:"spec"`
	DecidedBy string       `json:"decided_by"`
	Changes   jsonChanges  `json:"changes"`
	Agent     *jsonAgent   `json:"agent"`
	Images    []jsonImage  `json:"images"`
	Steps     []jsonStep   `json:"steps"`
	Totals    jsonTotalSet `json:"totals"`
	Trust     jsonTrust    `json:"trust"`
}

// jsonTrust is the trust model's verdict; model is false when the spec
// has none (every build is trusted).
type jsonTrust struct {
	Model     bool   `json:"model"`
	Trusted   bool   `json:"trusted"`
	Reason    string `json:"reason"`
	TagPrefix string `json:"tag_prefix"`
	Registry  string `json:"registry"`
}

type jsonAgent struct {
	Apply     bool     `json:"apply"`
	Method    string   `json:"method"`
	DiffBase  string   `json:"diff_base"`
	MergeBase string   `json:"merge_base"`
	Reason    string   `json:"reason"`
	Notes     []string `json:"notes"`
	Files     []string `json:"files"`
	Fails     string   `json:"fails"`
}

type jsonVerdict struct {
	Run    bool   `json:"run"`
	Reason string `json:"reason"`
}

type jsonChanges struct {
	All    bool     `json:"all"`
	Method string   `json:"method"`
	Ref    string   `json:"ref"`
	Base   string   `json:"base"`
	Reason string   `json:"reason"`
	Notes  []string `json:"notes"`
	Count  int      `json:"count"`
}

type jsonImage struct {
	Name     string `json:"name"`
	Ref      string `json:"ref"`
	Changed  bool   `json:"changed"`
	Evidence string `json:"evidence"`
	Action   string `json:"action"`
	Reason   string `json:"reason"`
	// Fresh: rebuilt whatever the registry holds (--rebuild, BKGEN_REBUILD).
	Fresh bool `json:"fresh"`
}

type jsonStep struct {
	Key       string       `json:"key"`
	Image     string       `json:"image"`
	Kind      string       `json:"kind"`
	Run       bool         `json:"run"`
	Reason    string       `json:"reason"`
	DependsOn []string     `json:"depends_on"`
	Agent     *jsonVerdict `json:"agent_differs"`
}

type jsonTotalSet struct {
	Images map[string]int `json:"images"`
	Steps  map[string]int `json:"steps"`
}

// JSON writes the plan as indented JSON:
//
//	{
//	  "version": 1,
//	  "spec": ".buildkite/bkgen.yml",
//	  "decided_by": "bkgen",
//	  "changes": {"all": false, "method": "branch", "ref": "origin/main",
//	              "base": "<sha>", "reason": "...", "notes": [], "count": 3},
//	  "agent": {"apply": true, "method": "agent-merge-base", "diff_base": "origin/main",
//	            "merge_base": "<sha>", "reason": "...", "notes": [], "files": [...], "fails": ""},
//	  "images": [{"name", "ref", "changed", "evidence", "action", "reason"}],
//	  "steps":  [{"key", "image", "kind", "run", "reason", "depends_on", "agent_differs"}],
//	  "totals": {"images": {"build": 1, "guard": 0, "reuse": 0, "skip": 0},
//	             "steps": {"run": 3, "skip": 1}}
//	}
//
// decided_by is "bkgen" (bkgen evaluated if_changed) or "agent" (the
// pipeline leaves if_changed to buildkite-agent pipeline upload, and every
// decision is bkgen's prediction of the agent's). agent is what the agent
// will take as the changed files (files as it reads them, git's quoting
// kept), or null when not predicted. A step's agent_differs is null, or,
// when bkgen decides, what the agent would do instead with if_changed left
// to it: {"run", "reason"}. action is build, guard, reuse or skip; kind is
// build, manifest, scan, consumer, output or step (the spec's own). Lists are
// never null.
func JSON(w io.Writer, p *Plan) error {
	t := p.totals()
	out := jsonPlan{
		Version:   1,
		Spec:      p.Spec,
		DecidedBy: "bkgen",
		Changes: jsonChanges{
			All: p.Changes.All, Method: p.Changes.Method, Ref: p.Changes.Ref, Base: p.Changes.Base,
			Reason: p.Changes.Reason, Notes: nonNil(p.Changes.Notes), Count: len(p.Changes.Files),
		},
		Images: []jsonImage{},
		Steps:  []jsonStep{},
		Totals: jsonTotalSet{Images: map[string]int{}, Steps: map[string]int{"run": t.Run, "skip": t.Skip}},
		Trust:  jsonTrust{p.Trust.Model, p.Trust.Trusted, p.Trust.Reason, p.Trust.TagPrefix, p.Trust.Registry},
	}
	if p.AgentDecides {
		out.DecidedBy = "agent"
	}
	if a := p.Agent; a != nil {
		out.Agent = &jsonAgent{Apply: a.Apply, Method: a.Method, DiffBase: a.DiffBase, MergeBase: a.MergeBase,
			Reason: a.Reason, Notes: nonNil(a.Notes), Files: nonNil(a.Files), Fails: a.Fails}
	}
	for _, a := range actionOrder {
		out.Totals.Images[string(a)] = t.Images[a]
	}
	for _, im := range p.Images {
		out.Images = append(out.Images, jsonImage{im.Name, im.Ref, im.Changed, im.Evidence, string(im.Action), im.Reason, im.Fresh})
	}
	for _, s := range p.Steps {
		js := jsonStep{s.Key, s.Image, string(s.Kind), s.Run, s.Reason, nonNil(p.DependsOn[s.Key]), nil}
		if s.Agent != nil {
			js.Agent = &jsonVerdict{s.Agent.Run, s.Agent.Reason}
		}
		out.Steps = append(out.Steps, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

var mermaidID = regexp.MustCompile(`[^A-Za-z0-9_]`)

// Mermaid writes the steps and their depends_on as a mermaid flowchart, the
// steps that will not run styled apart.
func Mermaid(w io.Writer, p *Plan) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	id := mermaidIDs()
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id(s.Key), mermaidLabel(s.Key))
	}
	for _, s := range p.Steps {
		for _, d := range p.DependsOn[s.Key] {
			fmt.Fprintf(&b, "  %s --> %s\n", id(d), id(s.Key))
		}
	}
	b.WriteString("  classDef skipped fill:#eee,stroke:#999,color:#777,stroke-dasharray: 4 3\n")
	b.WriteString("  classDef guard fill:#e6f4ff,stroke:#2b7bb9\n")
	actions := map[string]generator.BuildAction{}
	for _, im := range p.Images {
		actions[im.Name] = im.Action
	}
	for _, s := range p.Steps {
		switch {
		case !s.Run:
			fmt.Fprintf(&b, "  class %s skipped\n", id(s.Key))
		case s.Kind != spec.ConsumerStep && actions[s.Image] == generator.Guard:
			fmt.Fprintf(&b, "  class %s guard\n", id(s.Key))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidIDs gives each step key a node id: the key with every character
// mermaid does not take in an id made "_", and a number added when two keys
// come out the same (web.x and web_x), so no step can stand in for another.
func mermaidIDs() func(key string) string {
	ids := map[string]string{}
	used := map[string]bool{}
	return func(key string) string {
		if id, ok := ids[key]; ok {
			return id
		}
		base := "s_" + mermaidID.ReplaceAllString(key, "_")
		id := base
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s_%d", base, n)
		}
		ids[key], used[id] = id, true
		return id
	}
}

// mermaidLabel writes text for a quoted node label: anything but letters,
// digits and a few marks as a #code; entity, so no quote, bracket or markup
// can end the label or start another statement.
func mermaidLabel(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" ._/:+-", r)) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	return b.String()
}
