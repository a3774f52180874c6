#!/usr/bin/env python3
"""Conformance tests for loom-rewrite.

Each program in conformance/*.c is copied alone into a fresh source tree,
rewritten with `loom-rewrite SRC OUT`, and then, for every compiler and
optimisation level, the original and the rewritten file are compiled with

    CC -std=gnu11 -Wall -Wextra [FLAGS] OPT -pthread -o X file.c

(FLAGS from a `conformance-cflags: ...` comment in the program)

(run in the file's own directory, with the file name relative, so that the
diagnostics of the two look alike) and both binaries are run.  A combination
passes when the two agree on stdout, on the exit status and on the
warnings (file:line:col: warning: text [-Wflag], directory part of the path
dropped).

    conformance.py --rewrite build/rewriter/loom-rewrite --cc gcc \\
        [--cc clang-19] [--opt -O0 --opt -O2] [--keep] [names...]
    conformance.py --self-check --cc gcc --cc clang-19

--self-check replaces the rewriter by a plain copy, so each original is
compared with itself; it also checks that the programs are warning-free
(except warn_*.c, which must warn).  The last line printed is always
`N passed, M failed` (program x cc x opt combinations); the exit status is
1 if anything failed or could not run, 0 otherwise.
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM_DIR = os.path.join(HERE, "conformance")
RUN_TIMEOUT = 10
COMPILE_TIMEOUT = 120
REWRITE_TIMEOUT = 120
SOURCE_DIFF_LINES = 300

# gcc omits the column for some preprocessor warnings ("x.c:1: warning:").
DIAG_RE = re.compile(
    r"^(?P<path>[^\s:][^:]*?):(?P<line>\d+):(?:(?P<col>\d+):)? "
    r"warning: (?P<text>.*)$")


class Program:
    """State shared by the combinations of one program."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.tmp = None
        self.src_dir = None
        self.out_dir = None
        self.rewritten = None      # path of the rewritten file, if any
        self.setup_error = None    # why the program could not be prepared


def describe_status(rc):
    if rc is None:
        return "timeout (killed after %d s)" % RUN_TIMEOUT
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit %d" % rc


def unified(a, b, a_name, b_name, indent="    "):
    lines = difflib.unified_diff(a, b, a_name, b_name, lineterm="")
    return "\n".join(indent + line for line in lines)


def normalise_diagnostics(stderr, ignore_columns):
    """Keep the warning lines only, without the directory part of the path."""
    diags = []
    for line in stderr.splitlines():
        m = DIAG_RE.match(line)
        if not m:
            continue
        col = m.group("col")
        if ignore_columns or col is None:
            loc = "%s:%s" % (os.path.basename(m.group("path")), m.group("line"))
        else:
            loc = "%s:%s:%s" % (os.path.basename(m.group("path")),
                                m.group("line"), col)
        key = (os.path.basename(m.group("path")), int(m.group("line")),
               int(col or 0) if not ignore_columns else 0, m.group("text"))
        diags.append((key, "%s: warning: %s" % (loc, m.group("text"))))
    return [text for _key, text in sorted(diags)]


def run(cmd, cwd, timeout, env=None):
    """Run cmd; return (returncode or None on timeout, stdout, stderr)."""
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        return None, out, err


def prepare(prog, args):
    """Copy the program alone into SRC and produce OUT (rewrite or copy)."""
    stem = os.path.splitext(prog.name)[0]
    prog.tmp = tempfile.mkdtemp(prefix="loom-conformance-%s-" % stem)
    prog.src_dir = os.path.join(prog.tmp, "src")
    prog.out_dir = os.path.join(prog.tmp, "out")
    os.makedirs(prog.src_dir)
    os.makedirs(os.path.join(prog.tmp, "bin"))
    shutil.copy2(prog.path, os.path.join(prog.src_dir, prog.name))

    if args.self_check:
        shutil.copytree(prog.src_dir, prog.out_dir)
    else:
        cmd = [args.rewrite] + (args.rewrite_arg or []) + [prog.src_dir, prog.out_dir]
        rc, out, err = run(cmd, prog.tmp, REWRITE_TIMEOUT)
        if rc != 0:
            prog.setup_error = "loom-rewrite failed (%s): %s\n%s%s" % (
                describe_status(rc), " ".join(cmd),
                "".join("    " + l + "\n" for l in out.splitlines()),
                "".join("    " + l + "\n" for l in err.splitlines()))
            return

    rewritten = os.path.join(prog.out_dir, prog.name)
    if not os.path.isfile(rewritten):
        listing = []
        for root, _dirs, files in os.walk(prog.out_dir):
            for f in files:
                listing.append(os.path.relpath(os.path.join(root, f),
                                               prog.out_dir))
        prog.setup_error = "no %s in OUT (%s); OUT holds: %s" % (
            prog.name, prog.out_dir, ", ".join(sorted(listing)) or "nothing")
        return
    prog.rewritten = rewritten


def source_diff(prog):
    try:
        with open(prog.path, encoding="utf-8", errors="replace") as f:
            a = f.read().splitlines()
        with open(prog.rewritten, encoding="utf-8", errors="replace") as f:
            b = f.read().splitlines()
    except OSError as e:
        return "    (cannot diff sources: %s)" % e
    lines = unified(a, b, "original/" + prog.name,
                    "rewritten/" + prog.name).splitlines()
    if len(lines) > SOURCE_DIFF_LINES:
        lines = lines[:SOURCE_DIFF_LINES] + [
            "    ... (%d more lines)" % (len(lines) - SOURCE_DIFF_LINES)]
    return "\n".join(lines)


def extra_cflags(path):
    """Flags a program asks for in a `conformance-cflags: ...` comment (after
    the default ones, so that e.g. its -std wins)."""
    with open(path, errors="replace") as f:
        m = re.search(r"conformance-cflags:(.*?)(\*/|$)", f.read(), re.M)
    return m.group(1).split() if m else []


def only_emit(path):
    """The emitter a program is written for, from a `conformance-emit: NAME`
    comment (a warning the inline emitter's hooks cannot help, for one);
    None: both."""
    with open(path, errors="replace") as f:
        m = re.search(r"conformance-emit:\s*(\w+)", f.read())
    return m.group(1) if m else None


def rewrite_emit(rewrite_args):
    """The --emit the rewrite runs with (loom-rewrite's default: hybrid)."""
    emit = "hybrid"
    for i, a in enumerate(rewrite_args):
        if a == "--emit" and i + 1 < len(rewrite_args):
            emit = rewrite_args[i + 1]
        elif a.startswith("--emit="):
            emit = a[len("--emit="):]
    return emit


def compile_one(cc, opt, path, binary):
    cmd = [cc, "-std=gnu11", "-Wall", "-Wextra"] + extra_cflags(path) + [
        opt, "-pthread", "-o", binary, os.path.basename(path)]
    env = dict(os.environ, LC_ALL="C", LANG="C")
    rc, out, err = run(cmd, os.path.dirname(path), COMPILE_TIMEOUT, env)
    return rc, out + err, cmd


def check_combo(prog, cc, opt, args):
    """Compile and run one program x cc x opt; return a list of problems."""
    tag = "%s-%s" % (os.path.basename(cc), opt.lstrip("-"))
    problems = []
    results = {}
    for kind, path in (("original", os.path.join(prog.src_dir, prog.name)),
                       ("rewritten", prog.rewritten)):
        binary = os.path.join(prog.tmp, "bin", "%s-%s" % (kind, tag))
        rc, diag, cmd = compile_one(cc, opt, path, binary)
        if rc != 0:
            problems.append("%s does not compile (%s): (cd %s && %s)\n%s" % (
                kind, describe_status(rc), os.path.dirname(path),
                " ".join(cmd),
                "".join("    " + l + "\n" for l in diag.splitlines())))
            continue
        results[kind] = {"diag": diag, "bin": binary}

    for kind, r in results.items():
        r["warnings"] = normalise_diagnostics(r["diag"], args.ignore_columns)
    if args.self_check and "original" in results:
        warns = results["original"]["warnings"]
        if prog.name.startswith("warn_") and not warns:
            problems.append("original of a warn_ program gives no warning")
        elif not prog.name.startswith("warn_") and warns:
            problems.append("original is not warning-free:\n" + "".join(
                "    " + w + "\n" for w in warns))
    if len(results) != 2:
        return problems

    orig, rewr = results["original"], results["rewritten"]
    # Warnings of the original that the rewrite may lose (--allow-lost FLAG),
    # never warnings it may add.
    lost_ok = [w for w in orig["warnings"] if w not in rewr["warnings"]
               and any(w.endswith("[%s]" % flag) for flag in args.allow_lost or [])]
    if [w for w in orig["warnings"] if w not in lost_ok] != rewr["warnings"]:
        msg = "diagnostics differ:\n" + unified(
            orig["warnings"], rewr["warnings"], "original", "rewritten")
        if (normalise_diagnostics(orig["diag"], True)
                == normalise_diagnostics(rewr["diag"], True)):
            msg += "\n    (same lines and texts: only the columns differ)"
        problems.append(msg)

    # The rewritten program runs twice: as it is (the fast path), and with
    # LOOM_FORCE_SLOW=1, where every function runs its slow copy and every
    # loop its twin; both must behave as the original.
    runs = {}
    variants = [("original", results["original"]["bin"], None),
                ("rewritten", results["rewritten"]["bin"], None),
                ("rewritten, slow copies", results["rewritten"]["bin"], "1")]
    for kind, binary, force in variants:
        rundir = os.path.join(prog.tmp, "run-%s-%s" % (kind.replace(",", "").replace(" ", "-"), tag))
        os.makedirs(rundir, exist_ok=True)
        env = dict(os.environ, LOOM_FORCE_SLOW=force) if force else None
        runs[kind] = run([binary], rundir, RUN_TIMEOUT, env)
    orc, oout, oerr = runs["original"]
    if orc is None:
        problems.append("original binary timed out after %d s" % RUN_TIMEOUT)
    for kind in ("rewritten", "rewritten, slow copies"):
        rrc, rout, rerr = runs[kind]
        if oout != rout:
            problems.append("stdout differs (%s):\n" % kind + unified(
                oout.splitlines(), rout.splitlines(), "original", kind))
        if orc != rrc:
            msg = "exit status differs: original %s, %s %s" % (
                describe_status(orc), kind, describe_status(rrc))
            if oerr != rerr:
                msg += "\n  stderr:\n" + unified(
                    oerr.splitlines(), rerr.splitlines(), "original", kind)
            problems.append(msg)
    return problems


def parse_args(argv):
    # `--opt -O2` must work although -O2 looks like an option to argparse.
    fixed, i = [], 0
    while i < len(argv):
        if argv[i] in ("--opt", "--cc") and i + 1 < len(argv):
            fixed.append(argv[i] + "=" + argv[i + 1])
            i += 2
        else:
            fixed.append(argv[i])
            i += 1
    argv = fixed
    ap = argparse.ArgumentParser(
        description="Check that loom-rewrite preserves behaviour and "
                    "diagnostics of the programs in conformance/.")
    ap.add_argument("--rewrite", metavar="PATH",
                    help="the loom-rewrite binary (not needed with "
                         "--self-check)")
    ap.add_argument("--allow-lost", action="append", metavar="FLAG",
                    help="a warning flag (e.g. -Wunused-parameter) whose warnings the "
                         "rewritten file may lose (never gain)")
    ap.add_argument("--rewrite-arg", action="append", metavar="ARG",
                    help="an option for loom-rewrite, e.g. --rewrite-arg=--emit --rewrite-arg=hybrid")
    ap.add_argument("--cc", action="append", default=[],
                    help="compiler to use, may repeat (default: gcc)")
    ap.add_argument("--opt", action="append", default=[],
                    help="optimisation flag, may repeat (default: -O0 -O2)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directories and print them")
    ap.add_argument("--self-check", action="store_true",
                    help="use a plain copy instead of loom-rewrite and check "
                         "that the originals are warning-free")
    ap.add_argument("--ignore-columns", action="store_true",
                    help="compare diagnostics by file, line and text only")
    ap.add_argument("--source-diff", action="store_true",
                    help="print the diff of the rewritten source of every "
                         "failing program")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="parallel workers (default: os.cpu_count())")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list the combinations that pass")
    ap.add_argument("names", nargs="*",
                    help="programs to run (name or name.c; default: all)")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    ccs = args.cc or ["gcc"]
    opts = args.opt or ["-O0", "-O2"]

    all_programs = sorted(f for f in os.listdir(PROGRAM_DIR)
                          if f.endswith(".c"))
    names, errors = [], []
    for n in args.names or all_programs:
        n = os.path.basename(n)
        n = n if n.endswith(".c") else n + ".c"
        if n not in all_programs:
            errors.append("no program %s in %s" % (n, PROGRAM_DIR))
        if n not in names:
            names.append(n)
    if not args.self_check:
        emit = rewrite_emit(args.rewrite_arg or [])
        for n in list(names):
            want = only_emit(os.path.join(PROGRAM_DIR, n)) if n in all_programs else None
            if want and want != emit:
                print("not run: %s (written for --emit %s)" % (n, want))
                names.remove(n)
    if not names:
        errors.append("no programs found in %s" % PROGRAM_DIR)
    if not args.self_check:
        if not args.rewrite:
            errors.append("--rewrite PATH is required (or --self-check)")
        elif not (os.path.isfile(args.rewrite)
                  and os.access(args.rewrite, os.X_OK)):
            errors.append("rewriter %r does not exist or is not executable"
                          % args.rewrite)
        else:
            args.rewrite = os.path.abspath(args.rewrite)
    for cc in ccs:
        if not shutil.which(cc):
            errors.append("compiler %r not found" % cc)
    if errors:
        # A test that cannot run fails: count every requested combination.
        for e in errors:
            print("conformance: cannot run the tests: %s" % e)
        print("0 passed, %d failed"
              % max(1, len(names) * len(ccs) * len(opts)))
        return 1
    resolved = ccs

    programs = [Program(os.path.join(PROGRAM_DIR, n)) for n in names]
    jobs = max(1, args.jobs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for prog, fut in [(p, pool.submit(prepare, p, args))
                          for p in programs]:
            try:
                fut.result()
            except Exception as e:  # a harness error must fail, not skip
                prog.setup_error = "harness error while preparing: %r" % e
        combos = []
        for prog in programs:
            for cc in resolved:
                for opt in opts:
                    fut = None
                    if not prog.setup_error:
                        fut = pool.submit(check_combo, prog, cc, opt, args)
                    combos.append((prog, cc, opt, fut))
        results = []
        for prog, cc, opt, fut in combos:
            if fut is None:
                problems = [prog.setup_error]
            else:
                try:
                    problems = fut.result()
                except Exception as e:
                    problems = ["harness error: %r" % e]
            results.append((prog, cc, opt, problems))

    passed = failed = 0
    failed_programs = []
    for prog, cc, opt, problems in results:
        label = "%s [%s %s]" % (prog.name, cc, opt)
        if problems:
            failed += 1
            if prog not in failed_programs:
                failed_programs.append(prog)
            print("FAIL %s" % label)
            for p in problems:
                print("  " + p.rstrip("\n").replace("\n", "\n  "))
            print()
        else:
            passed += 1
            if args.verbose:
                print("PASS %s" % label)

    if args.source_diff:
        for prog in failed_programs:
            if prog.rewritten and not args.self_check:
                print("rewritten source of %s:" % prog.name)
                print(source_diff(prog))
                print()
    hints = []
    if failed_programs and not args.keep:
        hints.append("--keep to inspect the files")
    if failed_programs and not args.source_diff and not args.self_check:
        hints.append("--source-diff for the rewritten sources")
    if hints:
        print("(re-run with %s)" % ", ".join(hints))
    for prog in programs:
        if prog.tmp is None:
            continue
        if args.keep:
            print("kept %s: %s" % (prog.name, prog.tmp))
        else:
            shutil.rmtree(prog.tmp, ignore_errors=True)

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
