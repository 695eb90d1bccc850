// Package lint checks Buildkite pipeline files as `buildkite-agent pipeline
// upload` will see them, and the if_changed patterns of a bkgen spec. Every
// problem points at the value it is about: the step, the key, the
// depends_on entry, the plugin name, the pattern.
//
// # Errors
//
// An error is something the upload fails on, or that the agent or Buildkite
// quietly does differently from what the file says:
//
//   - YAML the agent cannot read, duplicate keys in a mapping (the agent
//     keeps the last value without a word), and what go-pipeline (the
//     agent's own parser) refuses, at the document, step or value it names;
//   - step keys (key, id or identifier) that are empty, not strings, shaped
//     like a UUID, or used twice in the file;
//   - depends_on naming a key no step in the file has, a step depending on
//     its own group (or a group on its own step), and dependency cycles;
//   - an upload of more than 500 jobs (steps in groups, parallelism and
//     matrix combinations counted), Buildkite's default limit per upload;
//   - if_changed values the agent ignores, running the step on every build:
//     a pattern it cannot parse, a mapping without include, a null or a
//     value of the wrong type;
//   - a value upload-time interpolation fails on, such as "${#list[@]}".
//
// go-pipeline's warnings need sorting, as the agent uploads a step it
// cannot model as written and leaves Buildkite to judge it. Errors: a
// scalar step it does not know ("- foo"), a pipeline without steps, a type
// Buildkite does not know either, a step with no type key at all, and any
// such step with an if_changed, which the agent then cannot apply.
// Warnings: the other steps it cannot model, such as legacy forms Buildkite
// still accepts ("type: commands", a one-dimension matrix adjustment
// written as a list), which the agent can neither sign nor filter.
//
// # Warnings
//
//   - plugins not pinned to a release tag (vX.Y.Z) or a full commit sha;
//   - literal values that look like secrets: well-known token formats
//     anywhere, and long random-looking values given to variables or
//     plugin settings named like *_TOKEN, *_SECRET, *_PASSWORD or *_KEY
//     (only a redacted prefix is ever printed);
//   - $VAR and ${VAR} that upload-time interpolation replaces with the
//     uploading job's value, which is rarely what a command means;
//   - if_changed patterns that cannot match what they seem to (a leading
//     "./", "/", "!" or "~/", a range such as "[a-z]", or a "*" ending the
//     pattern right after a brace group, which the agent makes match at
//     least one character after some branches, as in "Gemfile{,.lock}*",
//     which misses "Gemfile").
//
// Interpolation warnings leave out variables the pipeline's own env block
// defines (the agent interpolates those on purpose) and the variables that
// are the same for every job of a build, such as BUILDKITE_BUILD_NUMBER or
// BUILDKITE_COMMIT (which the agent resolves to a sha before
// interpolating): replacing those at upload changes nothing. The free-text
// ones among them (the branch, tag, commit message, author...) are
// reported when they land in a command, as whoever pushes controls that
// text and it is pasted into the script before the shell sees it. (None of
// this applies to an upload with --no-interpolation.)
//
// A file is checked on its own: a depends_on naming a step that another
// upload adds to the build (the step that uploads this pipeline, say) is
// reported as naming no step.
package lint
