package plan

import (
	"fmt"
	"strings"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/bkgen/bkgen/spec"
)

// checkJobImages refuses a consumer that runs its whole job in an image
// (container mode job_image) whose Dockerfile's final stage sets a user
// other than root: hosted agents run a job image as it is, and the job
// (its checkout, its hooks) needs the user they start it as.
func checkJobImages(dir string, s *spec.Spec, paths map[string]contentkey.Paths) diag.List {
	var errs diag.List
	for _, im := range s.Images {
		var jobs []*spec.Consumer
		for _, c := range im.Consumers {
			if c.Container.JobImage {
				jobs = append(jobs, c)
			}
		}
		if len(jobs) == 0 {
			continue
		}
		name := paths[im.Name].Dockerfile // as the content key read it
		src, _, err := inroot.ReadFile(dir, name, contentkey.DockerfileLimit)
		if err != nil {
			continue // the content key has said what is wrong with it
		}
		user, line := finalUser(string(src), im.Target)
		if user == "" || isRoot(user) {
			continue
		}
		for _, c := range jobs {
			errs = append(errs, diag.Diagnostic{
				File: s.File, Pos: c.Container.Pos, Severity: diag.Error, Rule: "job-image",
				Path: "images." + c.ListedUnder(im) + ".consumers." + c.Name + ".container",
				Msg: fmt.Sprintf("mode job_image runs the job in the image, and its Dockerfile (%s, line %d) sets USER %s: hosted agents need the job to run as the user they start it as; drop the USER, or use mode: docker with user: %s",
					name, line, user, user),
			})
		}
	}
	return errs
}

// finalUser is the user the build's last stage (or the stage named target)
// runs as, and the line that sets it: "" when no USER in that stage, or in
// the stages it is built FROM, sets one (a base image's own USER is not
// known here).
func finalUser(src, target string) (user string, line int) {
	type setting struct {
		user string
		line int
	}
	escape := byte('\\')
	stages := map[string]setting{} // by lowercased stage name
	var cur setting
	var curName string
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		text := strings.TrimSpace(lines[i])
		if i < 5 && strings.HasPrefix(strings.ToLower(strings.ReplaceAll(text, " ", "")), "#escape=`") {
			escape = '`'
		}
		if text == "" || text[0] == '#' {
			continue
		}
		for len(text) > 0 && text[len(text)-1] == escape && i+1 < len(lines) {
			i++
			text = text[:len(text)-1] + " " + strings.TrimSpace(lines[i])
		}
		words := strings.Fields(text)
		switch strings.ToUpper(words[0]) {
		case "FROM":
			if curName != "" {
				stages[curName] = cur
			}
			if target != "" && strings.EqualFold(curName, target) {
				return cur.user, cur.line
			}
			args := words[1:]
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				args = args[1:]
			}
			cur, curName = setting{}, ""
			if len(args) > 0 {
				cur = stages[strings.ToLower(args[0])] // built on an earlier stage: its user
			}
			if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
				curName = strings.ToLower(args[2])
			}
		case "USER":
			if len(words) > 1 {
				cur = setting{user: words[1], line: start}
			}
		}
	}
	return cur.user, cur.line
}

// isRoot: the user is root by name or id, with or without root's group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}
