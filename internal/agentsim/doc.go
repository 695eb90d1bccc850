// Package agentsim plays the Buildkite agent for the execution harness:
// it runs whole builds of a pipeline on this machine, for real.
//
// The Runner takes a repository and a first command (bkgen upload), runs it
// as the first job, then runs the steps that job uploaded in dependency
// order: each job gets a fresh checkout of the build's commit, a fresh,
// empty DOCKER_CONFIG (as the Elastic CI Stack gives), the BUILDKITE_*
// variables, the build's and the step's env (listed, as the agent lists
// them, in $BUILDKITE_ENV_FILE), what hooks export (Build.HookEnv, not
// listed) and /bin/bash -e -c, or runs inside the step's image as hosted
// agents do, with the job's whole environment. It honours skip, soft_fail, parallelism,
// depends_on (a missing key refuses the upload) and artifact_paths; a step
// it cannot run here (plugins, or what Runner.NotExecutable names) is not
// executable, and so is every step that depends on it.
//
// Jobs find two stand-ins first on PATH, one binary (cmd/standin):
//
//   - buildkite-agent: meta-data set/get/exists/keys, oidc request-token
//     (the token is the registries' htpasswd password, recorded with its
//     audience, lifetime and job), annotate,
//     artifact upload, and pipeline upload: go-pipeline's parse and
//     upload-time interpolation with the uploading job's environment (as
//     internal/pipetest does), if_changed applied as agents since 3.103 do,
//     and the step graph checked as Buildkite checks it;
//   - docker: the real CLI, each call and its output recorded (so a test
//     can tell which steps built), and the registries' part of OIDC logins
//     played: a login with the job's token is refused unless its audience
//     names that registry, its lifetime is within the registry's limit and
//     it has not expired, and a command naming a registry whose token has
//     expired since is refused (Config.TimeScale runs that clock faster).
//
// Everything a build shares (meta-data, tokens, uploads, records) lives in
// its State directory, named to jobs by BKGEN_AGENTSIM_STATE.
package agentsim
