#!/usr/bin/env python3
"""rt/loom.h comes first in every rewritten file, before the program's own
`#define _GNU_SOURCE`: it must include no libc header, compile warning-free
in strict and GNU modes, and its weak runtime must end up once in a program
of several translation units.

For gcc and clang-19 (both required), -std=c99/c11/gnu11/gnu17, -O0 and -O2,
with -Wall -Wextra -pedantic -Werror: compile two files laid out as
loom-rewrite lays them out (`#include "loom-rt/loom.h"`, `#line 1`, then
`#define _GNU_SOURCE` and libc headers, code calling the GNU-only memmem and
using every hook macro), link them into one program and run it.  The program
checks that both files see one runtime (same addresses), that the runtime
started its update channel, and that its hooks work.  A control shows that the
test would catch a header that includes libc itself.

usage: header_modes.py [--header rt/loom.h]
"""
import argparse
import functools
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "testlib"))
import loomtest  # noqa: E402
from loomtest import ENV, Checks, scratch  # noqa: E402

COMPILERS = ["gcc", "clang-19"]
STDS = ["c99", "c11", "gnu11", "gnu17"]
OPTS = ["-O0", "-O2"]
WARN = ["-Wall", "-Wextra", "-pedantic", "-Werror"]
NHOOKS = 14
RUN_TIMEOUT = 60  # seconds, for every command but the program built
run = functools.partial(loomtest.run, timeout=RUN_TIMEOUT)
check = Checks()


CONFIG_H = f"""/* as loom-rewrite writes it */
#define LOOM_MANIFEST_ID "0123456789abcdef"
#define LOOM_MANIFEST_PATH "/nonexistent/loom-manifest.json"
#define LOOM_NHOOKS {NHOOKS}u
"""

# How loom-rewrite starts every file it writes, before the program's own
# first line (here `#define _GNU_SOURCE`).
REWRITTEN = '#include "loom-rt/loom.h"\n#line 1\n#define _GNU_SOURCE\n'

# b.c's functions, declared in both files.
B_DECLS = """
int count_in_b(const char *hay, const char *needle);
const void *b_runtime(void);
const void *b_active(void);
const void *b_self(void);
const void *b_manifest_id(void);
"""

# Hooks 1..7 here, 8..14 in b.c, as loom-rewrite numbers them across a tree.
A_C = REWRITTEN + """#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <time.h>
#include <sys/stat.h>
""" + B_DECLS + r"""
/* The runtime's engine thread names itself (prctl) when it starts. */
static int engine_named(void)
{
	int i;

	for (i = 0; i < 1000; i++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		int found = 0;

		while (d && (e = readdir(d)) != NULL) {
			char comm[300], name[32] = "";
			FILE *f;

			snprintf(comm, sizeof comm, "/proc/self/task/%s/comm", e->d_name);
			if ((f = fopen(comm, "r")) != NULL) {
				found |= fgets(name, sizeof name, f) && !strcmp(name, "loom-engine\n");
				fclose(f);
			}
		}
		if (d)
			closedir(d);
		if (found)
			return 1;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	return 0;
}

static long find(const char *hay, const char *needle)
{LOOM_FUNCTION_ENTRY(1, 2, 3);
	LOOM_SLOT(4); const char *p = memmem(hay, strlen(hay), needle, strlen(needle));
	LOOM_SLOT(5); if (!p)
		{ LOOM_SLOT(6); LOOM_RETURN(7); return -1; }
	return p - hay;
}

int main(void)
{
	char path[300];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int bad = 0;

	if (find("hello loom world", "loom") != 6 || find("abc", "x") != -1) {
		printf("memmem: wrong result\n");
		bad = 1;
	}
	if (count_in_b("a loom in a loom", "loom") != 2) {
		printf("count_in_b: wrong result\n");
		bad = 1;
	}
	if (b_runtime() != (const void *)&loom__rt || b_active() != (const void *)&loom__active
	    || b_self() != (const void *)&loom__self || b_manifest_id() != (const void *)loom__manifest_id) {
		printf("two copies of the runtime: %p %p\n", b_runtime(), (const void *)&loom__rt);
		bad = 1;
	}
	if (!loom__rt.started || loom__nhooks != LOOM_NHOOKS || strcmp(loom__manifest_id, LOOM_MANIFEST_ID)) {
		printf("runtime not started or wrong manifest\n");
		bad = 1;
	}
	if (xdg)
		snprintf(path, sizeof path, "%s/loom/%d.sock", xdg, (int)getpid());
	else
		snprintf(path, sizeof path, "/tmp/loom-%u/%d.sock", (unsigned)geteuid(), (int)getpid());
	if (getenv("EXPECT_NO_CHANNEL")) {
		if (loom__rt.sock_path[0] || access(path, F_OK) == 0) {
			printf("an update channel at %s, in a directory that is not private\n", path);
			bad = 1;
		}
		path[0] = 0;
	} else if (strcmp(loom__rt.sock_path, path) || access(path, F_OK) != 0) {
		printf("no update channel at %s (runtime says '%s')\n", path, loom__rt.sock_path);
		bad = 1;
	} else {
		struct stat sock, dir;
		char *slash = strrchr(path, '/');

		*slash = 0;
		if (stat(path, &dir) || (dir.st_mode & 07777) != 0700 || dir.st_uid != geteuid()) {
			printf("the socket's directory %s is not private\n", path);
			bad = 1;
		}
		*slash = '/';
		if (stat(path, &sock) || !S_ISSOCK(sock.st_mode) || (sock.st_mode & 0777) != 0600) {
			printf("%s is not a socket with mode 0600\n", path);
			bad = 1;
		}
		if (!engine_named()) {
			printf("no thread named loom-engine within 10 s\n");
			bad = 1;
		}
	}
	/* Hooks take no slow path without a filter or an update, but the
	 * blocking marker in b.c registers the thread, and clears itself. */
	if (!loom__self.tid || loom__rt.threads != &loom__self || loom__self.blocking || loom__active) {
		printf("the blocking hook did not register the thread\n");
		bad = 1;
	}
	if (!bad)
		printf("ok %s\n", path);
	return bad;
}
"""

B_C = REWRITTEN + """#include <string.h>
#include <time.h>
""" + B_DECLS + r"""
int count_in_b(const char *hay, const char *needle)
{LOOM_FUNCTION_ENTRY(8, 9, 10);
	LOOM_SLOT(11); int n = 0;
	LOOM_SLOT(12); for (const char *p = hay; (p = memmem(p, strlen(p), needle, strlen(needle))) != NULL; p++)
		{ LOOM_COND_BREAK(13); n++; }
	LOOM_SLOT(14); LOOM_BLOCKING_BEGIN(14); nanosleep(&(struct timespec){ 0, 1000 }, NULL); LOOM_BLOCKING_END(14);
	while (LOOM_BLOCKING_COND(14), (nanosleep(&(struct timespec){ 0, 1000 }, NULL) != 0) ? LOOM_BLOCKING_COND_END(14, 1) : LOOM_BLOCKING_COND_END(14, 0))
		{ LOOM_COND_BREAK(13); }
	return n;
}

const void *b_runtime(void) { return &loom__rt; }
const void *b_active(void) { return &loom__active; }
const void *b_self(void) { return &loom__self; }
const void *b_manifest_id(void) { return loom__manifest_id; }
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "loom.h"))
    args = ap.parse_args()
    header = os.path.abspath(args.header)
    if not check(os.path.isfile(header), f"the runtime header {header} exists"):
        check.finish()
    compilers = []
    for cc in COMPILERS:
        path = shutil.which(cc)
        if check(path, f"compiler {cc} is installed", f"{cc} not found in PATH"):
            compilers.append(cc)

    with scratch("loom-header-modes-") as tmp:
        os.mkdir(os.path.join(tmp, "loom-rt"))
        shutil.copy(header, os.path.join(tmp, "loom-rt", "loom.h"))
        with open(os.path.join(tmp, "loom-rt", "loom-config.h"), "w") as f:
            f.write(CONFIG_H)
        for name, text in (("a.c", A_C), ("b.c", B_C)):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        xdg = os.path.join(tmp, "xdg")
        os.mkdir(xdg, 0o700)
        env = dict(ENV, XDG_RUNTIME_DIR=xdg)
        env.pop("LOOM_DISABLE", None)

        for cc in compilers:
            for std in STDS:
                for opt in OPTS:
                    tag = f"{cc} -std={std} {opt}"
                    flags = [f"-std={std}", opt] + WARN
                    ok = True
                    for src in ("a.c", "b.c"):
                        st, so, se = run([cc] + flags + ["-c", src, "-o", src[0] + ".o"], cwd=tmp)
                        ok = check(st == 0 and not se.strip(), f"{tag}: {src} compiles without a warning",
                                   f"status {st}\n{se}") and ok
                    if not ok:
                        continue
                    st, so, se = run([cc, "-o", "prog", "a.o", "b.o"], cwd=tmp)
                    if not check(st == 0, f"{tag}: a.o and b.o link into one program (weak runtime)", se):
                        continue
                    st, so, se = run([os.path.join(tmp, "prog")], cwd=tmp, env=env, timeout=20)
                    sock = so.strip()[3:] if so.startswith("ok ") else None
                    check(st == 0 and sock is not None and not se.strip(),
                          f"{tag}: the program runs: memmem works, one runtime, channel open, hooks work",
                          f"status {st}\nstdout {so}\nstderr {se}")
                    if sock is not None:
                        check(not os.path.exists(sock), f"{tag}: the socket is removed at exit", sock)

        # Where the socket goes, and where it must not (the channel's
        # system calls go straight to the kernel: its mode, its directory's,
        # the engine thread's name are the runtime's own doing).
        if compilers:
            cc = compilers[0]
            st, so, se = run([cc, "-std=gnu17", "-O2", "-o", "prog", "a.c", "b.c"], cwd=tmp)
            if check(st == 0, f"{cc}: the program builds for the channel cases", se):
                prog = os.path.join(tmp, "prog")
                no_xdg = dict(env)
                no_xdg.pop("XDG_RUNTIME_DIR")
                st, so, se = run([prog], cwd=tmp, env=no_xdg, timeout=20)
                sock = so.strip()[3:] if so.startswith("ok ") else None
                check(st == 0 and sock is not None and re.fullmatch(rf"/tmp/loom-{os.geteuid()}/\d+\.sock", sock)
                      and not os.path.exists(sock) and not se.strip(),
                      "without XDG_RUNTIME_DIR the socket is /tmp/loom-UID/PID.sock, mode 0600 in a 0700 directory",
                      f"status {st}\nstdout {so}\nstderr {se}")
                shared = os.path.join(tmp, "shared")
                os.makedirs(os.path.join(shared, "loom"))
                os.chmod(os.path.join(shared, "loom"), 0o755)
                st, so, se = run([prog], cwd=tmp, env=dict(env, XDG_RUNTIME_DIR=shared, EXPECT_NO_CHANNEL="1"),
                                 timeout=20)
                check(st == 0 and so.strip() == "ok" and re.fullmatch(
                          rf"loom\[\d+\]: no update channel: {re.escape(shared)}/loom is not a private directory "
                          rf"of uid {os.geteuid()}\n", se),
                      "a socket directory others can enter: no channel, one warning naming it",
                      f"status {st}\nstdout {so}\nstderr {se}")
                deep = os.path.join(tmp, "d" * 40, "e" * 40)
                os.makedirs(deep, 0o700)
                st, so, se = run([prog], cwd=tmp, env=dict(env, XDG_RUNTIME_DIR=deep, EXPECT_NO_CHANNEL="1"),
                                 timeout=20)
                check(st == 0 and so.strip() == "ok"
                      and "no update channel: the directory " in se and "is too long for a socket's path" in se,
                      "a socket path over 108 bytes: no channel, a warning that says so",
                      f"status {st}\nstdout {so}\nstderr {se}")

        # Control: had loom.h included <string.h> itself, memmem would be
        # undeclared (the program's _GNU_SOURCE comes too late) and the
        # build above would have failed.
        if compilers:
            with open(os.path.join(tmp, "control.c"), "w") as f:
                f.write("#include <string.h>\n" + A_C)
            st, so, se = run([compilers[0], "-std=c99", "-O0"] + WARN + ["-c", "control.c", "-o", "control.o"],
                             cwd=tmp)
            check(st != 0 and "memmem" in se,
                  "control: a libc header before the program's _GNU_SOURCE breaks the build (so the test can see it)",
                  f"status {st}\n{se}")
    check.finish()


if __name__ == "__main__":
    main()
