// Package exectest is bkgen's execution harness: a pipeline counts as
// working only once it has run. For every example of examples/ and every
// extra scenario of testdata/scenarios/, under both builder profiles, it
// makes a git repository (the example with stand-in Dockerfiles that build
// here and leave a marker only their image has, and each consumer's
// command replaced by a probe), then runs four builds of it with agentsim
// as the agent, bkgen upload as the first job:
//
//   - first: a fresh build;
//   - again: the same commit again: every guard hits, nothing builds;
//   - changed: one changed file in one image's context: exactly that image
//     and the images built on it build;
//   - cold: the builder emptied and every content tag changed: everything
//     builds, from the remote cache where the image has one.
//
// After each build it checks, for every image pushed, the content tag and
// the extra tags in the registry at the digest the meta-data names, every
// platform built as that architecture, the marker, build args, labels and
// the layers of the image it is built on; for every consumer job, that its
// command ran inside its image with its env and parallel index and left
// its artifacts; the OIDC tokens' lifetime; bkgen's annotation. A step
// that needs what this machine cannot have (S3, ECR, GAR, vulnerability
// databases, plugins) is NOT EXECUTABLE, with the reason, never a pass.
//
// TestExecution runs it all with BKGEN_EXEC=1 in the environment of
// scripts/exec-env (scripts/exec-test.sh does both); without them it is
// skipped. The scenario table goes to the test log and to table.txt (and
// results.json, and every job's log) in the results directory.
package exectest
