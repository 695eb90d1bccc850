// Package contentkey computes the content tag of container images: a short
// name that changes exactly when the inputs of an image's build change, so
// that an image is never rebuilt while its inputs stay the same and a
// consumer never runs an image built from other inputs.
//
// # What goes into a key
//
// The key of an image covers:
//
//   - the bytes of its Dockerfile;
//   - every file of its build context that .dockerignore lets through, as
//     Docker (BuildKit) decides it: the patterns of <Dockerfile>.dockerignore
//     next to the Dockerfile, or else of <context>/.dockerignore, read with
//     ignorefile.ReadAll and matched with moby/patternmatcher the way
//     BuildKit walks a context (each path against its parent directory's
//     results). A file counts with its path relative to the context, its mode
//     as git normalises it (100644, 100755 when the owner may execute it,
//     120000 for a symlink, whose content is its target) and its git blob id;
//   - the build args, target, platforms and secret ids (never their values);
//   - what its RUN steps can see besides the context, when the spec sets
//     it: their network, extra hosts, SSH ids, /dev/shm size and named
//     build contexts (pinned images);
//   - the attestations attached to it (provenance and SBOM), when there are
//     any;
//   - the spec's key_salt, when it sets one: text that changes the tag and
//     nothing else, to start new tags on purpose;
//   - the digests its external bases (FROM, COPY --from) resolved to, when
//     they were looked up (bkgen's --verify-registry);
//   - the content tags of the images it depends on;
//   - the version of this format.
//
// Nothing else changes it: not mtimes, owners or permission bits other than
// the owner's execute bit, not the order of anything, not files outside the
// context or excluded by .dockerignore. Untracked and git-ignored files in
// the context count, because Docker sends them.
//
// Two things Docker sends are deliberately left out, because git has no
// notion of them and a key must not depend on whether git was asked:
// directories themselves (an empty directory does not count), and anything
// named .git. A repository's .git changes with every commit and would change
// the key of every context holding it on every commit; an image that really
// needs its history is better given the commit as a build arg.
//
// # How files are read
//
// The context directories are walked once for all images, in parallel,
// reading directories. In a git checkout, a tracked file whose stat data
// has not changed since git recorded it in the index is keyed by the blob
// id in the index, without being read, as git status would judge it:
//
//   - On Linux, the index file is read directly (gitformat-index(5),
//     versions 2 to 4, SHA-1 or SHA-256) while the walk stats every file
//     relative to its open directory. A file is clean when its mode, size,
//     mtime and ctime (to the nanosecond), inode, uid and gid are what the
//     index holds, which is stricter than git (so never wrong where git is
//     right), and its entry is not racily clean (written no earlier than
//     the index itself, which git rereads too). One "git rev-parse" finds
//     the index; no other git command runs.
//   - Elsewhere, and for an index that reader does not take (split,
//     sparse, with a flag newer than it, or damaged: git is the authority
//     on its own index), "git ls-files --stage" and "git diff-files"
//     (which judges by the same stat data) run while the walk reads
//     directories. An index git cannot read either (truncated, garbage)
//     vouches for nothing: every file is hashed from disk.
//
// Every other file an image sends is hashed from disk into the blob id git
// would give it, "blob <size>\x00<content>" under SHA-1, or SHA-256 in a
// repository whose objectFormat is sha256: untracked and git-ignored files
// (found by the walk, which also sees into nested repositories and
// submodules that "git ls-files --others" would list as one entry),
// modified, touched or racily clean ones, assume-unchanged, skip-worktree
// and intent-to-add ones (git no longer looks at them, or has no content
// for them), those of submodules and nested repositories, and everything
// outside a checkout or when git cannot be run. Both ways give the same id,
// so keys depend neither on which way a file was read nor on whether the
// tree is a git checkout at all (with SHA-1, git's default).
//
// # Symlinks, and what a repository may not do
//
// Docker follows a context path that is, or goes through, a symlink, and so
// does a key: it is made of the files where the symlink leads, and
// Analysis.Paths tells where that is and which symlinks were followed, so
// that a change to either counts. Symlinks inside a context are sent as
// they are, and keyed by their target's text.
//
// The files come with the commit, from whoever wrote it. A context must be
// a directory inside the root, and a Dockerfile and an ignore file regular
// files inside it: a symlink on the way is followed only while it stays
// inside the root (and out of .git), and devices, FIFOs and sockets are
// never opened for reading. A Dockerfile may hold 4 MiB and an ignore file
// 1 MiB, far more than any real one; larger ones are errors, not reads
// without end. A directory or file that cannot be read is a problem only
// for an image that would send it: Docker does not descend into a
// directory .dockerignore excludes unless an exception ("!") pattern
// starts with its path. Analyze reports every such problem of every image
// at once, as Problems.
//
// # Key format, version 2
//
// A tag is "bk-" followed by 16 lowercase hex digits: the first 8 bytes of
// the SHA-256 of the image's encoding. The encoding is a sequence of
// records, each a label and its values as fields, separated by one space
// and ended by a newline, where every field, label included, is written as
// its length in bytes in decimal, a colon and the bytes themselves (so any
// byte may appear in a value):
//
//	"bkgen-contentkey" "2"              format name and version
//	"objects" FORMAT                    "sha1" or "sha256": how ids were made
//	"dockerfile" ID                     blob id of the Dockerfile's bytes
//	"target" TARGET                     "" when there is none
//	"platform" PLATFORM                 one per platform, sorted, no repeats
//	"arg" NAME VALUE                    one per build arg, sorted by name
//	"label" NAME VALUE                  one per image label, sorted by name
//	"secret" ID                         one per secret id, sorted, no repeats
//	"network" NETWORK                   none; no record for the default
//	"add-host" NAME:ADDRESS             one per extra host, sorted, no repeats
//	"ssh" ID                            one per SSH id, sorted, no repeats
//	"shm-size" SIZE                     no record without one
//	"build-context" NAME REF            one per named context, sorted by name
//	"provenance" MODE                   min or max; no record without one
//	"sbom" GENERATOR                    the SBOM generator; no record without one
//	"salt" SALT                         the key_salt; no record without one
//	"base" REF DIGEST                   one per base looked up, sorted by REF
//	"file" PATH MODE ID                 one per file, sorted by path (bytes)
//	"depends" NAME TAG                  one per dependency, sorted by name
//
// For example the record of a file is
//
//	4:file 10:src/main.go 6:100644 40:<40 hex digits>
//
// followed by a newline. PATH is relative to the context, with slashes;
// MODE is the octal git mode; ids are lowercase hex. Any change to what goes
// into a key, or to how it is encoded, must change the version.
//
// Version 2 added the labels, which are part of the image's config: with
// version 1, a build whose labels alone had changed found its old tag and
// reused the image under it, old labels and all. The records
// after the secrets, added later, are written only for a spec that sets
// what they record (and the bases only for a build that looked them up), so every key without them is what it
// was: adding them did not change the version.
package contentkey
