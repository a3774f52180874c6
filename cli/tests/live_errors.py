#!/usr/bin/env python3
"""`loom push|ls|pop` failures against live processes: each must exit with the
right status and a clear message, and leave the target process untouched (no
filter installed, BUG lines still coming).  Also the normal push / ls / pop
cycle.  The rewritten program runs with XDG_RUNTIME_DIR set to a private
temporary directory, so its socket is TMP/xdg/loom/PID.sock and goes away with
the test.

usage: live_errors.py --loom BUILD/cli/loom --rewrite BUILD/rewriter/loom-rewrite
                      --src corpus/js-destroy-context --spec specs/js-destroy-context.loom
"""
import argparse
import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "testlib"))
import loomtest  # noqa: E402
from loomtest import (Checks, Program, loom_rows, rewrite_and_build, scratch, start_target,  # noqa: E402
                      tamper_manifest, wait_for)

RUN_TIMEOUT = 30  # seconds, for every command
NOBODY = 65534
run = functools.partial(loomtest.run, timeout=RUN_TIMEOUT)
check = Checks()


def unused_pid():
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    for pid in range(pid_max - 1, 300, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", required=True)
    ap.add_argument("--rewrite", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--spec", required=True)
    args = ap.parse_args()
    loom = os.path.abspath(args.loom)
    rewrite = os.path.abspath(args.rewrite)
    src = os.path.abspath(args.src)

    for path, what in ((loom, "loom"), (rewrite, "loom-rewrite")):
        if not check(os.access(path, os.X_OK), f"{what} is an executable at {path}"):
            check.finish()
    try:
        spec_text = open(args.spec, encoding="utf-8").read()
    except OSError as e:
        check(False, f"read the spec {args.spec}", e)
        check.finish()

    with scratch("loom-live-errors-") as tmp:
        os.chmod(tmp, 0o755)  # nobody must reach the spec and run loom from here
        target = sleeper = None
        try:
            out = os.path.join(tmp, "out")
            exe = rewrite_and_build(rewrite, src, out, check=check)
            manifest = os.path.join(out, "loom-manifest.json")
            mtext = open(manifest, encoding="utf-8").read()
            mid = re.search(r'"id":"([0-9a-f]{16})"', mtext).group(1)
            spec = os.path.join(tmp, "filter.loom")
            with open(spec, "w", encoding="utf-8") as f:
                f.write(spec_text)
            os.chmod(spec, 0o644)

            xdg = os.path.join(tmp, "xdg")
            os.mkdir(xdg, 0o700)
            target = start_target(check, exe, xdg)
            pid = target.pid
            env = target.env

            def ls_rows():
                return loom_rows(loom, pid)

            def untouched(what):
                rows, detail = ls_rows()
                check(rows == [], f"{what}: loom ls shows no filter", detail)
                check(target.bugs_keep_coming(), f"{what}: the target is alive and BUG lines keep coming",
                      f"alive {target.alive()}, {target.nbugs()} BUG lines")

            rows, detail = ls_rows()
            check(rows == [], "loom ls on the fresh target: no filter", detail)

            # (a) no such process
            nopid = unused_pid()
            st, so, se = run([loom, "push", str(nopid), spec])
            check(st == 1 and se == f"loom: error: no process with pid {nopid}\n" and so == "",
                  f"(a) push to pid {nopid}, which does not exist: status 1, 'no process with pid'",
                  f"status {st}\nstderr {se!r}")
            for cmd in (["ls", str(nopid)], ["pop", str(nopid), "1"]):
                st, so, se = run([loom] + cmd)
                check(st == 1 and se == f"loom: error: no process with pid {nopid}\n",
                      f"(a) {' '.join(cmd)}: status 1, 'no process with pid'", f"status {st}\nstderr {se!r}")

            # (b) a live process without Loom
            sleeper = subprocess.Popen(["sleep", "30"], env=env)
            wait_for(lambda: open(f"/proc/{sleeper.pid}/comm").read().strip() == "sleep", 5)
            st, so, se = run([loom, "push", str(sleeper.pid), spec])
            check(st == 1 and se.startswith(f"loom: error: process {sleeper.pid} (sleep) has no Loom runtime: "
                                            f"no update channel at {xdg}/loom/{sleeper.pid}.sock")
                  and "LOOM_DISABLE" in se and se.count("\n") == 1,
                  "(b) push to `sleep 30`: status 1, 'has no Loom runtime' with the socket path",
                  f"status {st}\nstderr {se!r}")
            st, so, se = run([loom, "ls", str(sleeper.pid)])
            check(st == 1 and "has no Loom runtime" in se, "(b) ls of `sleep 30`: status 1, no Loom runtime",
                  f"status {st}\nstderr {se!r}")

            # (b') a socket file nobody listens on: a runtime that is gone
            stale = os.path.join(xdg, "loom", f"{sleeper.pid}.sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(stale)
            s.close()
            st, so, se = run([loom, "push", str(sleeper.pid), spec])
            check(st == 1 and se == f"loom: error: process {sleeper.pid} (sleep) does not listen on {stale} "
                                    "(a stale socket: its runtime is gone)\n",
                  "(b') a socket nobody listens on: status 1, 'a stale socket'", f"status {st}\nstderr {se!r}")
            os.unlink(stale)
            sleeper.kill()
            sleeper.wait(timeout=5)
            sleeper = None

            # (b'') the rewritten program with LOOM_DISABLE set has no channel
            disabled = Program([exe], dict(env, LOOM_DISABLE="1"))
            try:
                check(disabled.bugs_keep_coming(1), "(b'') the target with LOOM_DISABLE=1 runs")
                st, so, se = run([loom, "push", str(disabled.pid), spec])
                check(st == 1 and "has no Loom runtime" in se and "is LOOM_DISABLE set?" in se
                      and not os.path.exists(disabled.socket),
                      "(b'') push to it: status 1, no Loom runtime, no socket", f"status {st}\nstderr {se!r}")
            finally:
                disabled.stop()

            # (c) pids, ids and timeouts that are not numbers in range: usage errors
            for argv, msg in (
                    (["push", "abc", spec], "invalid pid 'abc' (expected 1..1073741823)"),
                    (["push", "0", spec], "invalid pid '0' (expected 1..1073741823)"),
                    (["push", "-5", spec], None),
                    (["push", f"{pid}x", spec], f"invalid pid '{pid}x' (expected 1..1073741823)"),
                    (["ls", "abc"], "invalid pid 'abc' (expected 1..1073741823)"),
                    (["pop", "abc", "1"], "invalid pid 'abc' (expected 1..1073741823)"),
                    (["pop", str(pid), "x"], "invalid filter id 'x' (expected 1..4294967295)"),
                    (["pop", str(pid), "0"], "invalid filter id '0' (expected 1..4294967295)"),
                    (["push", str(pid)], None),
                    (["ls"], None)):
                st, so, se = run([loom] + argv)
                ok = st == 2 and (msg is None or se.startswith(f"loom: error: {msg}\n"))
                check(ok, f"(c) loom {' '.join(argv)}: status 2" + (f", '{msg}'" if msg else ""),
                      f"status {st}\nstderr {se!r}")
            untouched("(a)-(c)")

            # (d) a stale manifest: the same program with one more function
            src2 = os.path.join(tmp, "src2")
            shutil.copytree(src, src2)
            with open(os.path.join(src2, "js.c"), "a", encoding="utf-8") as f:
                f.write("\nint loom_test_extra(int x);\nint loom_test_extra(int x)\n{\n\treturn x + 1;\n}\n")
            out2 = os.path.join(tmp, "out2")
            st, so, se = run([rewrite, src2, out2])
            manifest2 = os.path.join(out2, "loom-manifest.json")
            if check(st == 0 and os.path.exists(manifest2), "(d) rewrite a modified copy of the source", se):
                mid2 = re.search(r'"id":"([0-9a-f]{16})"', open(manifest2).read()).group(1)
                st, so, se = run([loom, "push", "--manifest", manifest2, str(pid), spec])
                check(st == 1 and se == f"{manifest2}: error: stale manifest: its id is {mid2}, "
                                        f"but process {pid} was built from manifest {mid}\n",
                      "(d) push --manifest OTHER: status 1, 'stale manifest' naming both ids",
                      f"status {st}\nstderr {se!r}")
                untouched("(d)")

            # (e) a tampered manifest: given with --manifest, then the one the
            # process names in its hello (restored afterwards)
            bad = tamper_manifest(mtext)
            if check(bad is not None, "(e) the manifest has a number to tamper with"):
                copy = os.path.join(tmp, "tampered.json")
                with open(copy, "w", encoding="utf-8") as f:
                    f.write(bad)
                st, so, se = run([loom, "push", "--manifest", copy, str(pid), spec])
                check(st == 1 and se.startswith(f"{copy}: error: manifest id {mid} does not match its content (")
                      and se.endswith("): the file was edited or damaged\n"),
                      "(e) push --manifest TAMPERED: status 1, 'does not match its content'",
                      f"status {st}\nstderr {se!r}")
                with open(manifest, "w", encoding="utf-8") as f:
                    f.write(bad)
                try:
                    st, so, se = run([loom, "push", str(pid), spec])
                finally:
                    with open(manifest, "w", encoding="utf-8") as f:
                        f.write(mtext)
                check(st == 1 and se.startswith(f"{manifest}: error: manifest id {mid} does not match its content (")
                      and se.endswith("): the file was edited or damaged\n"),
                      "(e) push with the process's own manifest tampered: status 1, 'does not match its content'",
                      f"status {st}\nstderr {se!r}")
                untouched("(e)")

            # (f) specs that do not parse or do not resolve
            badspec = os.path.join(tmp, "bad.loom")
            for text, error, what in (
                    ("js_DestroyContext <>\n",
                     "2:1: error: expected a region (FUNCTION, FILE:LINE-LINE or {EVENT, EVENT}), found end of filter",
                     "(f) push of a malformed spec: status 1, located syntax error"),
                    ("js_DestroyContxt <> self\n",
                     "1:1: error: unknown function 'js_DestroyContxt' (did you mean 'js_DestroyContext'?)",
                     "(f) push of a spec naming an unknown function: status 1")):
                with open(badspec, "w") as f:
                    f.write(text)
                st, so, se = run([loom, "push", str(pid), badspec])
                check(st == 1 and se == f"{badspec}:{error}\n", what, f"status {st}\nstderr {se!r}")
            st, so, se = run([loom, "push", str(pid), os.path.join(tmp, "missing.loom")])
            check(st == 1 and "cannot read filter: No such file or directory" in se,
                  "(f) push of a missing spec file: status 1", f"status {st}\nstderr {se!r}")
            untouched("(f)")

            # (g) another uid
            if not check(os.geteuid() == 0, "(g) this test runs as root (needed to act as another uid)"):
                pass
            elif not check(shutil.which("setpriv"), "(g) setpriv is installed"):
                pass
            else:
                nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
                st, so, se = run(nobody + [loom, "push", str(pid), "-"], stdin_data=spec_text.encode())
                check(st not in (0, None) and se.startswith("loom: error: permission denied")
                      and f"belongs to uid {os.geteuid()}" in se,
                      f"(g) push as uid {NOBODY}: fails with 'permission denied'", f"status {st}\nstderr {se!r}")
                st, so, se = run(nobody + [loom, "push", str(pid), spec])
                check(st not in (0, None) and "permission denied" in se,
                      f"(g) push as uid {NOBODY} with a spec file: fails with 'permission denied'",
                      f"status {st}\nstderr {se!r}")
                for cmd in (["ls", str(pid)], ["pop", str(pid), "1"]):
                    st, so, se = run(nobody + [loom] + cmd)
                    check(st not in (0, None) and "permission denied" in se,
                          f"(g) {cmd[0]} as uid {NOBODY}: fails with 'permission denied'",
                          f"status {st}\nstderr {se!r}")
                untouched("(g)")

            # (h) pop of a filter that is not installed
            st, so, se = run([loom, "pop", str(pid), "7"])
            check(st == 1 and se == f"loom: error: process {pid}: no filter 7 is installed\n",
                  "(h) pop 7: status 1, 'no filter 7 is installed'", f"status {st}\nstderr {se!r}")

            # (i) push, ls, pop, ls
            st, so, se = run([loom, "push", str(pid), spec])
            fid = so.strip()
            # When the update took effect comes from the process's clock: after
            # the request, and no later than the reply.
            def times_ok(m):
                return m and 0 <= float(m.group(1)) <= float(m.group(2))
            if check(st == 0 and fid.isdigit() and times_ok(
                     re.match(rf"loom: filter {fid} installed in process {pid}: in force ([0-9.]+) ms after the "
                              rf"request, reply after ([0-9.]+) ms \(", se)),
                     "(i) push the real filter: status 0, its id on stdout",
                     f"status {st}\nstdout {so!r}\nstderr {se!r}"):
                rows, detail = ls_rows()
                want = spec_text.strip().replace("\n", ";")
                check(rows is not None and len(rows) == 1 and rows[0].split()[0] == fid
                      and rows[0].endswith("  " + want),
                      f"(i) loom ls shows filter {fid}: {want}", detail)
                # The filter serialises js_DestroyContext: once every thread has
                # passed through it, no BUG line may appear.
                def hits():
                    r, _ = ls_rows()
                    return r and len(r) == 1 and int(r[0].split()[1]) >= 8
                check(wait_for(hits, 10), "(i) the filter's lock is taken (HITS grows in loom ls)")
                since = time.monotonic()
                time.sleep(1.0)  # measuring an absence: BUG lines must not come
                check(len(target.bugs_after(since)) == 0 and target.alive(),
                      "(i) no BUG line for 1 s with the filter installed", f"{len(target.bugs_after(since))} BUG lines")
                st, so, se = run([loom, "pop", str(pid), fid])
                check(st == 0 and times_ok(re.match(rf"loom: filter {fid} removed from process {pid}: gone "
                                                    rf"([0-9.]+) ms after the request, reply after ([0-9.]+) ms\n$",
                                                    se)),
                      f"(i) pop {fid}: status 0", f"status {st}\nstderr {se!r}")
                st, so, se = run([loom, "pop", str(pid), fid])
                check(st == 1 and se == f"loom: error: process {pid}: no filter {fid} is installed\n",
                      f"(i) pop {fid} again: status 1, not installed", f"status {st}\nstderr {se!r}")
                untouched("(i) after pop")

            # (j) timeouts out of range are usage errors
            for argv in (["push", "--timeout", "0", str(pid), spec],
                         ["push", "--timeout", "600001", str(pid), spec],
                         ["push", "--timeout", "1s", str(pid), spec],
                         ["pop", "--timeout", "0", str(pid), "1"]):
                st, so, se = run([loom] + argv)
                val = argv[2]
                check(st == 2 and se == f"loom: error: invalid timeout '{val}' (expected 1..600000)\n",
                      f"(j) loom {' '.join(argv[:3])}: status 2", f"status {st}\nstderr {se!r}")
            untouched("(j)")

            check(target.alive(), f"the target (pid {pid}) is still alive at the end", target.stderr())
            check("loom[" not in target.stderr(), "the target's runtime printed no warnings",
                  target.stderr())
        finally:
            if sleeper is not None:
                sleeper.kill()
                sleeper.wait(timeout=5)
            if target is not None:
                target.stop()
    check.finish()


if __name__ == "__main__":
    main()
