/* loom manifest: reviewing what loom-rewrite did, offline (stat, show,
 * diff).  See docs/user-guide.md, "Reviewing the manifest". */
#ifndef LOOM_MANIFEST_CMD_H
#define LOOM_MANIFEST_CMD_H

/* Runs `loom manifest SUB ARGS...`: ARGV[0] is "manifest", ARGV[1] the
 * subcommand (stat, show or diff), then its options and arguments.  A
 * manifest argument may be the loom-manifest.json or the rewritten tree
 * that holds it.  Output goes to stdout, located errors to stderr, and a
 * usage error also prints USAGE to stderr.  Returns the exit status: for
 * stat and show 0, or 1 on an error in the input and 2 on a usage error;
 * for diff, like diff(1), 0 when the manifests (and the given filters'
 * resolutions) do not differ, 1 when they do and 2 on any error. */
int loom_manifest_cmd(int argc, char **argv, const char *usage);

#endif
