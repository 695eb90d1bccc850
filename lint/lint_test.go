package lint

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/glob"
	"github.com/google/go-cmp/cmp"
)

// lintLines runs Pipeline and renders its problems as LINE:COL: SEVERITY:
// MSG, checking the file name and the order on the way.
func lintLines(t *testing.T, src string) []string {
	t.Helper()
	var out []string
	ps := Pipeline("p.yml", []byte(src))
	for i, p := range ps {
		if p.File != "p.yml" {
			t.Errorf("problem %d has file %q, want p.yml", i, p.File)
		}
		if i > 0 && (p.Pos.Line < ps[i-1].Pos.Line || p.Pos.Line == ps[i-1].Pos.Line && p.Pos.Col < ps[i-1].Pos.Col) {
			t.Errorf("problems out of order: %v before %v", ps[i-1], p)
		}
		out = append(out, fmt.Sprintf("%d:%d: %s: %s", p.Pos.Line, p.Pos.Col, p.Severity, p.Msg))
	}
	return out
}

// unreadable is the warning for a step go-pipeline cannot model.
func unreadable(why string) string {
	return "the agent cannot parse this step (" + why + "): it uploads it as written, for Buildkite alone to check, and can neither sign it nor apply an if_changed to it"
}

func TestPipeline(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "a valid pipeline",
			src: `env:
  IMAGE: "app:${BUILDKITE_BUILD_NUMBER}"
steps:
  - label: ":docker: build"
    key: build
    command: docker build -t "$IMAGE" .
    plugins:
      - docker-compose#v5.12.0:
          run: app
  - wait
  - group: tests
    key: tests
    depends_on: build
    steps:
      - command: make test
        if_changed:
          include: ["src/**", "go.{mod,sum}"]
          exclude: docs/**
`,
		},

		// YAML.
		{
			name: "YAML syntax error",
			src:  "steps:\n  - command: \"abc\n",
			want: []string{`2:1: error: invalid YAML: found unexpected end of stream`},
		},
		{
			name: "tab in indentation",
			src:  "steps:\n- command: x\n\tkey: y\n",
			want: []string{`2:1: error: invalid YAML: found a tab character that violates indentation`},
		},
		{
			name: "unknown anchor",
			src:  "steps:\n  - command: x\n  - *nope\n",
			want: []string{`3:5: error: invalid YAML: unknown anchor 'nope' referenced`},
		},
		{
			name: "empty file",
			src:  "",
			want: []string{`1:1: error: the file holds no YAML document, so there is no pipeline to upload`},
		},
		{
			name: "only comments",
			src:  "# to do\n",
			want: []string{`1:1: error: the file holds no YAML document, so there is no pipeline to upload`},
		},
		{
			name: "duplicate mapping key",
			src:  "steps:\n  - command: a\n    label: one\n    command: b\n",
			want: []string{`4:5: error: mapping key "command" already defined at line 2; the agent keeps only the last value`},
		},
		{
			name: "every document is an upload",
			src:  "steps:\n  - command: a\n---\nsteps:\n  - command: b\n    depends_on: nothing\n---\n- [\n",
			want: []string{
				`6:17: error: depends_on "nothing": no step has this key`,
				`8:1: error: invalid YAML: did not find expected node content`,
			},
		},

		// What the agent's parser says.
		{
			name: "unknown scalar step",
			src:  "steps:\n  - wait\n  - wiat\n",
			want: []string{`3:5: error: unknown step type "wiat", want one of [wait waiter block input manual]`},
		},
		{
			name: "no steps",
			src:  "env:\n  A: b\n",
			want: []string{`1:1: error: the pipeline contains no steps: it has no "steps" key`},
		},
		{
			name: "steps not a list",
			src:  "steps: 5\n",
			want: []string{`1:8: error: the agent cannot parse this pipeline: unmarshaling Pipeline: unmarshaling steps: got []interface {}, want a slice ([]any)`},
		},
		{
			name: "step of no kind",
			src:  "steps:\n  - wait\n  - 5\n",
			want: []string{`3:5: error: the agent cannot parse this pipeline: unmarshaling Pipeline: unmarshaling step: unsupported type int`},
		},
		{
			name: "group inside itself",
			src:  "steps: &s\n  - group: g\n    steps: *s\n",
			want: []string{`1:8: error: the agent cannot parse this pipeline: infinite recursion`},
		},
		{
			name: "env block not a mapping",
			src:  "env: [A=b]\nsteps: []\n",
			want: []string{`1:6: error: the agent cannot parse this pipeline: unmarshaling Pipeline: incompatible types: src type []interface {}, want *Map[string, any]`},
		},
		{
			name: "env value not a string",
			src:  "steps: []\nenv:\n  A: {b: c}\n",
			want: []string{`3:6: error: the agent cannot parse this pipeline: unmarshaling Pipeline: unmarshaling value for key "A": incompatible types: cannot unmarshal *ordered.Map[string,interface {}] into *string`},
		},
		{
			name: "legacy pipeline: a list of steps",
			src:  "- command: a\n  key: a\n- wait\n- command: b\n  depends_on: [a, c]\n",
			want: []string{`5:19: error: depends_on "c": no step has this key`},
		},
		{
			name: "type Buildkite does not know",
			src:  "steps:\n  - type: frobnicate\n    command: x\n",
			want: []string{`2:11: error: unknown step type "frobnicate": Buildkite knows script, command, commands, wait, waiter, block, input, manual, trigger, group`},
		},
		{
			name: "type only go-pipeline does not know",
			src:  "steps:\n  - type: commands\n    command: x\n",
			want: []string{`2:5: warning: ` + unreadable(`unknown step type "commands"`)},
		},
		{
			name: "no type at all",
			src:  "steps:\n  - label: lonely\n",
			want: []string{`2:5: error: cannot infer step type: need one of [command commands plugins wait waiter block input manual trigger group]`},
		},
		{
			name: "legacy script step",
			src:  "steps:\n  - script:\n      command: x\n",
			want: []string{`2:5: warning: ` + unreadable(`cannot infer step type: need one of [command commands plugins wait waiter block input manual trigger group]`)},
		},
		{
			name: "unreadable step, with and without if_changed",
			src:  "steps:\n  - command: x\n    env: [A=b]\n  - command: y\n    env: [A=b]\n    if_changed: src/**\n",
			want: []string{
				`2:5: warning: ` + unreadable(`unmarshalling CommandStep: incompatible types: cannot unmarshal []any into *map[string]string`),
				`4:5: error: the agent cannot parse this step (unmarshalling CommandStep: incompatible types: cannot unmarshal []any into *map[string]string), so it cannot apply its if_changed: the step runs on every build, if Buildkite takes it at all`,
			},
		},
		{
			name: "bad step in a group",
			src:  "steps:\n  - group: g\n    steps:\n      - command: ok\n      - nope\n",
			want: []string{`5:9: error: unknown step type "nope", want one of [wait waiter block input manual]`},
		},

		// Keys.
		{
			name: "bad keys",
			src: `steps:
  - command: a
    key: ""
  - command: b
    key:
  - command: c
    key: {a: b}
  - command: d
    key: 12
  - command: e
    id: 9B30DA58-3DAC-4DBB-89E9-B9748CA76445
  - command: f
    identifier: build
  - wait: {key: build}
`,
			want: []string{
				`3:10: error: key is empty`,
				`5:9: error: key is empty`,
				`6:5: warning: ` + unreadable(`unmarshalling CommandStep: incompatible types: cannot unmarshal *ordered.Map[string,interface {}] into *string`),
				`7:10: error: key must be a string`,
				`9:10: error: key must be a string: quote it ("12")`,
				`11:9: error: id "9B30DA58-3DAC-4DBB-89E9-B9748CA76445" is shaped like a UUID, which Buildkite rejects for a step key`,
				`14:17: error: key "build" is already used by the step at line 13: Buildkite rejects a key used twice in a build`,
			},
		},
		{
			name: "key used again in another document",
			src:  "steps:\n  - command: a\n    key: build\n---\nsteps:\n  - command: b\n    key: build\n    depends_on: build\n",
			want: []string{`7:10: error: key "build" is already used by the step at line 3: Buildkite rejects a key used twice in a build`},
		},

		// depends_on.
		{
			name: "depends_on",
			src: `steps:
  - command: a
    key: deploy
  - command: b
    depends_on: deploi
  - command: c
    depends_on:
      - deploy
      - "tests"
      - step: lint
        allow_failure: true
      - allow_failure: true
      - 7
      - [x]
  - command: d
    depends_on: {step: deploy}
  - command: e
    depends_on: "build-${BUILDKITE_BUILD_NUMBER}"
  - command: f
    depends_on: ~
  - command: g
    depends_on: ""
`,
			want: []string{
				`5:17: error: depends_on "deploi": no step has this key (did you mean "deploy"?)`,
				`9:9: error: depends_on "tests": no step has this key`,
				`10:15: error: depends_on "lint": no step has this key`,
				`12:9: error: depends_on entry has no step: write {step: KEY}`,
				`13:9: error: a depends_on entry must be a step key (a string)`,
				`14:9: error: depends_on must be a step key, a list of keys, or a list of {step: KEY}`,
				`16:17: error: depends_on must be a step key, a list of keys, or a list of {step: KEY}`,
				`22:17: error: depends_on entry is empty`,
			},
		},
		{
			name: "key and depends_on through a merge key",
			src:  "common: &common\n  key: base\n  depends_on: other\nsteps:\n  - command: x\n    <<: *common\n  - command: y\n    key: other\n",
		},
		{
			name: "dependency cycles and group deadlocks",
			src: `steps:
  - command: a
    key: a
    depends_on: b
  - command: b
    key: b
    depends_on:
      - step: c
  - command: c
    key: c
    depends_on: a
  - command: self
    key: self
    depends_on: self
  - group: g
    key: g
    depends_on: inner2
    steps:
      - command: i
        key: inner
        depends_on: g
      - command: j
        key: inner2
`,
			want: []string{
				`4:17: error: dependency cycle: a -> b -> c -> a`,
				`14:17: error: dependency cycle: self -> self`,
				`17:17: error: depends_on "inner2": that step is in this group, whose steps start only after the group's dependencies finish, so it can never start`,
				`21:21: error: depends_on "g": this step is in that group, which finishes only after its steps, so the step can never start`,
			},
		},
		{
			name: "a reused key does not make a cycle",
			src:  "steps:\n  - command: a\n    key: build\n  - command: b\n    key: build\n    depends_on: build\n",
			want: []string{`5:10: error: key "build" is already used by the step at line 3: Buildkite rejects a key used twice in a build`},
		},

		// if_changed.
		{
			name: "if_changed the agent gives up on",
			src: `steps:
  - command: a
    if_changed: "src/{a,b"
  - command: b
    if_changed:
      exclude: docs/**
  - command: c
    if_changed:
  - command: d
    if_changed: 5
  - command: e
    if_changed:
      - src/**
      - [nested]
  - group: f
    if_changed:
      include: "[abc"
      exclude: ~
    steps:
      - command: x
  - trigger: g
    if_changed:
      include: src/**
      exclude: {a: b}
`,
			want: []string{
				`3:17: error: if_changed pattern "src/{a,b" cannot be parsed (unclosed "{" at offset 4): the agent ignores the whole if_changed and runs the step on every build`,
				`6:7: error: if_changed has no include: the agent ignores it and runs the step on every build`,
				`8:16: error: if_changed is empty: the agent ignores it and runs the step on every build`,
				`10:17: error: if_changed must be a pattern, a list of patterns, or a mapping with include (and exclude): the agent ignores it and runs the step on every build`,
				`14:9: error: if_changed: a pattern must be a string: the agent ignores the whole if_changed and runs the step on every build`,
				`17:16: error: if_changed pattern "[abc" cannot be parsed (unclosed "[" at offset 0): the agent ignores the whole if_changed and runs the step on every build`,
				`24:16: error: if_changed.exclude must be a pattern or a list of patterns: the agent ignores it and runs the step on every build`,
			},
		},
		{
			name: "if_changed patterns that never match",
			src: `steps:
  - command: a
    if_changed:
      include:
        - ./src/**
        - /abs/**
        - "!docs/**"
        - "src/[a-z]*.go"
        - "[^0-9]"
        - ""
        - "ok/[-a]/[a-]/[\\-]/[]"
      exclude:
        - "!x"
        - ./y
`,
			want: []string{
				`5:11: warning: pattern "./src/**" starts with "./", but the agent matches paths relative to the repository root, which never do, so it never matches; write "src/**"`,
				`6:11: warning: pattern "/abs/**" starts with "/", but the agent matches paths relative to the repository root, which never do, so it never matches; write "abs/**"`,
				`7:11: warning: pattern "!docs/**" starts with "!", which the agent reads as a literal "!" (patterns have no negation): to leave paths out, list them under exclude`,
				`8:11: warning: pattern "src/[a-z]*.go" has "[a-z]", but the agent has no ranges in brackets: it matches only the characters listed, "-" included; list each character you mean`,
				`9:11: warning: pattern "[^0-9]" has "[^0-9]", but the agent has no ranges in brackets: it matches only the characters listed, "-" included; list each character you mean`,
				`10:11: warning: pattern is empty, so it never matches`,
				`13:11: warning: exclude pattern "!x" starts with "!", which the agent reads as a literal "!" (patterns have no negation)`,
				`14:11: warning: exclude pattern "./y" starts with "./", but the agent matches paths relative to the repository root, which never do, so it never excludes anything; write "y"`,
			},
		},

		{
			name: "if_changed patterns the agent's quirks change",
			src: `steps:
  - command: a
    if_changed:
      include:
        - "~/src/**"
        - "Gemfile{,.lock}*"
        - "src/{main,test*}*"
        - "config{,/**}**"
        - "{a,b}/{c,d}/x{,.y}*"
        - "**/*"
        - "a/**/*"
        - "{a,b}*"
        - "{a,}*x"
        - "a/~/b"
      exclude:
        - "~/tmp/**"
        - "tmp/{cache,log*}*"
`,
			want: []string{
				`5:11: warning: pattern "~/src/**" starts with "~/", which the agent expands to its home directory, but the paths it matches are relative to the repository root, so it never matches; write the path from the repository root`,
				`6:11: warning: pattern "Gemfile{,.lock}*" does not match "Gemfile": the agent makes a "*" that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in "*" or "**"; add "Gemfile{,.lock}" beside it`,
				`7:11: warning: pattern "src/{main,test*}*" does not match "src/test": the agent makes a "*" that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in "*" or "**"; add "src/{main,test*}" beside it`,
				`8:11: warning: pattern "config{,/**}**" does not match "config": the agent makes a "**" that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in "*" or "**"; add "config{,/**}" beside it`,
				`9:11: warning: pattern "{a,b}/{c,d}/x{,.y}*" does not match "a/c/x", "a/d/x", "b/c/x" and 1 more: the agent makes a "*" that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in "*" or "**"; add "{a,b}/{c,d}/x{,.y}" beside it`,
				`16:11: warning: exclude pattern "~/tmp/**" starts with "~/", which the agent expands to its home directory, but the paths it matches are relative to the repository root, so it never excludes anything; write the path from the repository root`,
				`17:11: warning: exclude pattern "tmp/{cache,log*}*" does not exclude "tmp/log": the agent makes a "*" that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in "*" or "**"; add the exclude pattern "tmp/{cache,log*}" beside it`,
			},
		},

		{
			name: "if_changed on steps the agent does not apply it to",
			src: `steps:
  - block: Release
    if_changed: app/**
  - wait: ~
    if_changed: app/**
  - trigger: other
    if_changed: app/**
`,
			want: []string{
				`3:17: warning: the agent applies if_changed only to command, group and trigger steps: this block step keeps it and is never skipped for it`,
				`5:17: warning: the agent applies if_changed only to command, group and trigger steps: this wait step keeps it and is never skipped for it`,
			},
		},

		// Interpolation.
		{
			name: "interpolation fails",
			src:  "steps:\n  - command: |\n      echo one\n      echo \"${#list[@]}\"\n",
			want: []string{`4:7: error: upload-time interpolation fails on this value (Expected identifier to start with a letter, got #), and with it the upload: write $$ for a literal "$"`},
		},
		{
			name: "upload-time interpolation",
			src: `env:
  PATH: "$PATH:/opt/bin"
  IMAGE: "app:${BUILDKITE_BUILD_NUMBER}"
  FULL: "$IMAGE-$LATER"
  LATER: x
steps:
  - label: ":rocket: $BUILDKITE_BRANCH $IMAGE"
    command:
      - echo "$FOO and ${BAR:-$BAZ} but not $$QUX or \$QUUX"
      - git push origin "$BUILDKITE_BRANCH" "$BUILDKITE_COMMIT"
      - echo $BUILDKITE_PARALLEL_JOB $(date) $1 $@ $$FOO
    env:
      FOO: foo
    plugins:
      - docker#v5.12.0:
          image: "node:$NODE_VERSION"
    signature:
      value: "$NOT_INTERPOLATED"
  - trigger: deploy
    build:
      message: "$BUILDKITE_MESSAGE"
      env:
        WHO: $USER
`,
			want: []string{
				`2:10: warning: $PATH is interpolated at upload, from the uploading job's environment (empty if unset there); write $$PATH to leave it for the job to expand`,
				`4:17: warning: $LATER is interpolated at upload, from the uploading job's environment (empty if unset there); write $$LATER to leave it for the job to expand`,
				`9:15: warning: $FOO, $BAR and $BAZ are interpolated at upload, from the uploading job's environment (empty if unset there); write $$FOO, $$BAR and $$BAZ to leave them for the job to expand (FOO is in this step's env, which the job sees but upload-time interpolation does not)`,
				`10:26: warning: $BUILDKITE_BRANCH is pasted into the command at upload, so text whoever pushes controls (a branch name, a commit message) runs as shell code; write "$$BUILDKITE_BRANCH" to let the job's shell expand it as data`,
				`11:14: warning: $BUILDKITE_PARALLEL_JOB is interpolated at upload, from the uploading job's environment (empty if unset there); write $$BUILDKITE_PARALLEL_JOB to leave it for the job to expand`,
				`16:24: warning: $NODE_VERSION is interpolated at upload, from the uploading job's environment (empty if unset there); write $$NODE_VERSION to leave it for the job to expand`,
				`23:14: warning: $USER is interpolated at upload, from the uploading job's environment (empty if unset there); write $$USER to leave it for the job to expand`,
			},
		},
		{
			name: "escaped before the variable is found",
			src:  "steps:\n  - command: echo $$HOME $HOME\n",
			want: []string{`2:26: warning: $HOME is interpolated at upload, from the uploading job's environment (empty if unset there); write $$HOME to leave it for the job to expand`},
		},

		// Plugins.
		{
			name: "plugins",
			src: `steps:
  - command: a
    plugins:
      - docker-compose
      - docker-compose#main
      - docker-compose#v5
      - docker-compose#abc1234
      - docker-compose#v5.12.0
      - docker-compose#5.12.0-rc.1
      - org/thing#0123456789abcdef0123456789abcdef01234567
      - ./plugins/local
      - /opt/plugin
      - https://github.com/org/x-buildkite-plugin.git#feature/x
      - ecr:
          login: true
  - command: b
    plugins:
      seek-oss/aws-sm#v2.3.2:
        env: {A: b}
      artifacts:
        download: x
`,
			want: []string{
				`4:9: warning: plugin "docker-compose" is not pinned: without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline; pin a release tag (docker-compose#vX.Y.Z) or a full commit sha`,
				`5:9: warning: plugin "docker-compose#main" is not pinned: "main" looks like a branch, not a release tag or a commit sha, so it can change under the pipeline; pin a release tag (docker-compose#vX.Y.Z) or a full commit sha`,
				`6:9: warning: plugin "docker-compose#v5" is not pinned: "v5" is a partial version, which may be a tag that moves with each release; pin a release tag (docker-compose#vX.Y.Z) or a full commit sha`,
				`7:9: warning: plugin "docker-compose#abc1234" is not pinned: "abc1234" looks like a short commit sha, which can become ambiguous; write the full 40-character sha`,
				`13:9: warning: plugin "https://github.com/org/x-buildkite-plugin.git#feature/x" is not pinned: "feature/x" looks like a branch, not a release tag or a commit sha, so it can change under the pipeline; pin a release tag (https://github.com/org/x-buildkite-plugin.git#vX.Y.Z) or a full commit sha`,
				`14:9: warning: plugin "ecr" is not pinned: without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline; pin a release tag (ecr#vX.Y.Z) or a full commit sha`,
				`20:7: warning: plugin "artifacts" is not pinned: without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline; pin a release tag (artifacts#vX.Y.Z) or a full commit sha`,
			},
		},
		{
			name: "plugin version interpolated",
			src:  "steps:\n  - command: a\n    plugins:\n      - docker#$$V\n",
		},

		// Secrets.
		{
			name: "secrets",
			src: `env:
  AWS_ACCESS_KEY_ID: AKIAQ3EGUQDJXOPXRXY3
  EXAMPLE_ID: AKIAIOSFODNN7EXAMPLE
  DEPLOY_TOKEN: "Zx9Qw8Er7Ty6Ui5Op4As3Df2"
  SHORT_TOKEN: "abc123"
  REF_TOKEN: "$$VAULT_TOKEN"
  CACHE_KEY: "v1-Linux-AbC123dEf456GhI789"
  SIGNING_KEY: "0f9e8d7c6b5a49382716f5e4d3c2b1a0"
  SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
steps:
  - command: |
      export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789
      curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w" x
      NPM_TOKEN=Qm9vb0RvbzEyMzQ1Njc4OTBhYmNkZWY npm publish
      echo xoxb-1234567890-abcdefghij
    plugins:
      - some/plugin#v1.0.0:
          api_key: "Zx9Qw8Er7Ty6Ui5Op4As3Df2"
          key: "v1-Linux-AbC123dEf456GhI789"
          environment:
            - GH_PAT_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz
  - command: b
    env:
      SSH_KEY: |
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
        -----END OPENSSH PRIVATE KEY-----
      BK: bkua_0123456789abcdefABCDEF0123456789abcdef
`,
			want: []string{
				`2:22: warning: this looks like an AWS access key id ("AKIA…"): ` + keepOut,
				`4:17: warning: DEPLOY_TOKEN is set to what looks like a literal secret ("Zx9Q…", 24 characters): ` + keepOut,
				`8:16: warning: SIGNING_KEY is set to what looks like a literal secret ("0f9e…", 32 characters): ` + keepOut,
				`12:27: warning: this looks like a GitHub token ("ghp_…"): ` + keepOut,
				`13:38: warning: this looks like a literal bearer token ("eyJh…", 69 characters): ` + keepOut,
				`14:7: warning: NPM_TOKEN is set to what looks like a literal secret ("Qm9v…", 31 characters): ` + keepOut,
				`15:12: warning: this looks like a Slack token ("xoxb-…"): ` + keepOut,
				`18:20: warning: plugin setting api_key is set to what looks like a literal secret ("Zx9Q…", 24 characters): ` + keepOut,
				`21:28: warning: this looks like a GitHub token ("github_pat_…"): ` + keepOut,
				`25:9: warning: this looks like a private key ("-----BEGIN OPENSSH PRIVATE KEY-----"): ` + keepOut,
				`28:11: warning: this looks like a Buildkite API token ("bkua_…"): ` + keepOut,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lintLines(t, tt.src)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSecretsNeverPrinted checks that no message holds a secret whole.
func TestSecretsNeverPrinted(t *testing.T) {
	secrets := []string{
		"AKIAQ3EGUQDJXOPXRXY3",
		"ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"Zx9Qw8Er7Ty6Ui5Op4As3Df2",
		"xoxp-1234567890-abcdefghij",
	}
	src := "steps:\n  - command: echo " + secrets[0] + " " + secrets[1] + " " + secrets[3] + "\n    env:\n      A_PASSWORD: " + secrets[2] + "\n"
	ps := Pipeline("p.yml", []byte(src))
	if len(ps) != len(secrets) {
		t.Errorf("got %d problems, want %d: %v", len(ps), len(secrets), ps)
	}
	for _, p := range ps {
		for _, s := range secrets {
			if strings.Contains(p.Msg, s) || strings.Contains(p.Msg, s[4:]) {
				t.Errorf("%v prints the secret %q", p, s)
			}
		}
	}
}

// TestJobLimit checks the count of jobs an upload creates: steps in
// groups, parallelism and matrix combinations, but not groups themselves.
func TestJobLimit(t *testing.T) {
	steps := func(n int, step string) string {
		return strings.Repeat("  - "+step+"\n", n)
	}
	const tooMany = "the upload has %d jobs (counting the steps in groups, parallelism and matrix combinations), and this step takes it past Buildkite's limit of 500 per upload: split the pipeline into several uploads"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"500 steps", "steps:\n" + steps(500, "command: x"), nil},
		{"501 steps", "steps:\n" + steps(501, "command: x"),
			[]string{"502:5: error: " + fmt.Sprintf(tooMany, 501)}},
		{"groups do not count, their steps do",
			"steps:\n  - group: g\n    steps:\n" + strings.ReplaceAll(steps(501, "wait"), "  - ", "      - "),
			[]string{"504:9: error: " + fmt.Sprintf(tooMany, 501)}},
		{"parallelism", "steps:\n" + steps(2, "command: x") + "  - {command: y, parallelism: 499}\n",
			[]string{"4:5: error: " + fmt.Sprintf(tooMany, 501)}},
		{"matrix", "steps:\n" + steps(495, "command: x") + `  - command: y
    matrix:
      setup:
        os: [linux, macos, windows]
        arch: [amd64, arm64]
      adjustments:
        - with: {os: windows, arch: arm64}
          skip: true
        - with: {os: plan9, arch: amd64}
`,
			[]string{"497:5: error: " + fmt.Sprintf(tooMany, 495+6)}},
		{"each document is an upload", "steps:\n" + steps(300, "wait") + "---\nsteps:\n" + steps(300, "wait"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lintLines(t, tt.src)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStarAfterBracesFix checks the fix the warning gives for
// glob.QuirkStarAfterBraces: the pattern it names, listed beside the
// original, matches every path a reader expects the original to match
// (and no other), among them those the warning says the original misses.
func TestStarAfterBracesFix(t *testing.T) {
	tests := []struct {
		pattern string
		missed  []string // what the warning names, all expected
		yes, no []string // what a reader expects to match, or not
	}{
		{"Gemfile{,.lock}*", []string{"Gemfile"}, []string{"Gemfile.lock", "Gemfilex", "Gemfile.lockx"}, []string{"Gemfile/x", "x/Gemfile"}},
		{"src/{main,test*}*", []string{"src/test"}, []string{"src/main", "src/testx", "src/mainx", "src/test_helper"}, []string{"src/tes", "src/test/x"}},
		{"config{,/**}*", []string{"config"}, []string{"config/a", "configx", "config/a/b"}, []string{"conf", "x/config"}},
		{"config{,/**}**", []string{"config"}, []string{"config/a", "configx", "config/a/b", "configx/y"}, []string{"conf"}},
		{"{x{a*,b},c}*", []string{"xa"}, []string{"xab", "xb", "xbz", "c", "cz"}, []string{"x", "xc"}},
		{"a*{,b}*", []string{"a"}, []string{"ab", "ax", "axb"}, []string{"b", "a/b"}},
		{"{a,b}/Gemfile{,.lock}**", []string{"a/Gemfile", "b/Gemfile"}, []string{"a/Gemfile.lock", "b/Gemfile/x"}, []string{"c/Gemfile"}},
		{"**/go{,.sum}*", []string{"go"}, []string{"x/go", "go.mod", "a/b/go.sum"}, []string{"x/g"}},
	}
	for _, tt := range tests {
		msg := patternWarning(tt.pattern, "")
		p, err := glob.Compile(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		var q glob.Quirk
		for _, pq := range p.Quirks() {
			if pq.Kind == glob.QuirkStarAfterBraces {
				q = pq
			}
		}
		if q.Kind == 0 {
			t.Errorf("%q: no QuirkStarAfterBraces", tt.pattern)
			continue
		}
		if !strings.Contains(msg, fmt.Sprintf("add %q beside it", q.Fix)) {
			t.Errorf("%q: the warning does not give the fix %q: %s", tt.pattern, q.Fix, msg)
		}
		fix, err := glob.Compile(q.Fix)
		if err != nil {
			t.Fatalf("%q: fix %q: %v", tt.pattern, q.Fix, err)
		}
		if w := patternWarning(q.Fix, ""); w != "" {
			t.Errorf("%q: the fix %q draws a warning too: %s", tt.pattern, q.Fix, w)
		}
		for _, path := range tt.missed {
			if !strings.Contains(msg, fmt.Sprintf("%q", path)) {
				t.Errorf("%q: the warning does not name %q: %s", tt.pattern, path, msg)
			}
			if p.Match(path) {
				t.Errorf("%q matches %q, which the warning says it misses", tt.pattern, path)
			}
		}
		for _, path := range append(slices.Clone(tt.missed), tt.yes...) {
			if !p.Match(path) && !fix.Match(path) {
				t.Errorf("%q with %q beside it does not match %q", tt.pattern, q.Fix, path)
			}
		}
		for _, path := range tt.no {
			if p.Match(path) || fix.Match(path) {
				t.Errorf("%q with %q beside it matches %q", tt.pattern, q.Fix, path)
			}
		}
	}
}
